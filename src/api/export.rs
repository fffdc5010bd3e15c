//! CSV and NDJSON exports of the institute list (`/v1/exports/institutes`): every match of the filters, streamed page by
//! page (1,000 records a page, a few pages buffered) so memory stays flat whatever the size.

use crate::db::Pool;
use crate::error::ApiError;
use crate::model::institute::Institute;
use crate::model::interchange::{
    csv_header, csv_record, full_csv_record, full_record, neutralise_cell, Series,
};
use crate::model::money::Rates;
use crate::store::institutes as store;
use crate::store::write::documents::{self, Document};
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};

/// Documents read per query while exporting (and so records per part sent: a client that stops
/// reading leaves at most a few parts in memory).
pub const EXPORT_PAGE: usize = 500;

/// What an export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Every match as RFC 4180 CSV.
    Csv,
    /// Every match as one JSON record per line.
    Ndjson,
}

/// Chooses an export's format: `?format=` first, else the `Accept` header (the first listed of
/// `text/csv` or `application/x-ndjson`; `*/*`, `text/*` or no header choose CSV); 406 when
/// Accept allows neither.
pub fn negotiate(req: &HttpRequest, format: Option<&str>) -> Result<Format, ApiError> {
    if let Some(f) = format {
        return match f.trim() {
            "csv" => Ok(Format::Csv),
            "ndjson" => Ok(Format::Ndjson),
            "json" => Err(ApiError::field(
                "format",
                "JSON pages are GET /v1/institutes (same filters and sort); exports are csv or ndjson",
            )),
            other => Err(ApiError::field(
                "format",
                format!("unknown format '{other}'; one of csv, ndjson"),
            )),
        };
    }
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(Format::Csv);
    };
    let mut ranges: Vec<(f32, usize, String)> = Vec::new();
    for (i, part) in accept.split(',').enumerate() {
        let mut pieces = part.split(';');
        let media = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .filter_map(|p| p.trim().strip_prefix("q="))
            .filter_map(|q| q.trim().parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        if q > 0.0 && !media.is_empty() {
            ranges.push((q, i, media));
        }
    }
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, media) in &ranges {
        match media.as_str() {
            "text/csv" | "text/*" | "*/*" => return Ok(Format::Csv),
            "application/x-ndjson" | "application/ndjson" => return Ok(Format::Ndjson),
            _ => {}
        }
    }
    if ranges.is_empty() {
        return Ok(Format::Csv);
    }
    Err(ApiError::NotAcceptable(
        "this export is available as text/csv or application/x-ndjson (JSON pages: GET /v1/institutes)".into(),
    ))
}

/// CSV with CRLF line ends; cells a spreadsheet would run as formulas are neutralised (the
/// import reverses it).
fn csv_bytes(rows: impl IntoIterator<Item = Vec<String>>) -> Result<Bytes, std::io::Error> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in rows {
        writer
            .write_record(row.iter().map(|cell| neutralise_cell(cell).into_owned()))
            .map_err(std::io::Error::other)?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// Encodes one page of stored documents: NDJSON as stored (each converted to `currency` when
/// asked), CSV from the records; with `series`, each record carries its whole budget and
/// headcount series.
fn encode(
    docs: Vec<Document>,
    series: Option<&std::collections::HashMap<String, Series>>,
    format: Format,
    rates: &Rates,
    currency: Option<&str>,
) -> Result<Bytes, std::io::Error> {
    if format == Format::Ndjson && series.is_none() && currency.is_none() {
        let mut out = Vec::with_capacity(docs.iter().map(|d| d.json.len() + 1).sum());
        for d in docs {
            out.extend_from_slice(d.json.as_bytes());
            out.push(b'\n');
        }
        return Ok(Bytes::from(out));
    }
    let mut items: Vec<Institute> = docs
        .iter()
        .map(|d| d.record().map_err(std::io::Error::other))
        .collect::<Result<_, _>>()?;
    if let Some(c) = currency {
        for i in &mut items {
            i.convert_money(rates, c);
        }
    }
    let none = Series::default();
    let of = |i: &Institute| series.and_then(|s| s.get(&i.id)).unwrap_or(&none);
    match (format, series.is_some()) {
        (Format::Csv, false) => csv_bytes(items.iter().map(|i| csv_record(i, currency.is_some()))),
        (Format::Csv, true) => csv_bytes(items.iter().map(|i| full_csv_record(i, of(i)))),
        (Format::Ndjson, with_series) => {
            let mut out = Vec::with_capacity(items.len() * 1500);
            for i in &items {
                if with_series {
                    serde_json::to_writer(&mut out, &full_record(i, of(i)))
                } else {
                    serde_json::to_writer(&mut out, i)
                }
                .map_err(std::io::Error::other)?;
                out.push(b'\n');
            }
            Ok(Bytes::from(out))
        }
    }
}

/// The first bytes of a CSV export: with `bom`, a byte-order mark (so that spreadsheets read
/// the file as UTF-8), then the header row.
pub fn csv_head(extra: &[String], bom: bool) -> Bytes {
    let mut head = if bom {
        b"\xEF\xBB\xBF".to_vec()
    } else {
        Vec::new()
    };
    head.extend_from_slice(&csv_bytes([csv_header(extra)]).unwrap_or_default());
    Bytes::from(head)
}

type Chunk = Result<Bytes, std::io::Error>;

/// One export: the ids of the records, in order (from the read model, or the database's
/// name order for the command line); their stored documents are read a page at a time by one
/// thread, encoded by `WORKERS` threads at once, and sent on in order.
pub struct Job {
    pub pool: Pool,
    pub ids: Vec<String>,
    pub rates: Rates,
    /// The `?currency=` asked for, if any.
    pub currency: Option<String>,
    pub format: Format,
    /// Whether each record carries its whole series (the command-line export's files).
    pub series: bool,
    /// The longest the job waits for its receiver to take a part; `None`: for ever.
    pub stall: Option<std::time::Duration>,
    /// Whether a CSV file starts with a UTF-8 byte-order mark (for spreadsheets).
    pub bom: bool,
}

/// How sending an export's parts ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Every part was taken (or an error was sent in the place of the rest).
    Sent,
    /// The receiver went away.
    Gone,
    /// The receiver took nothing for longer than the job's `stall`.
    Stalled,
}

/// The most bytes one part of an export carries: a client that stops reading holds at most a
/// part in the server's queue and one in the connection's buffer.
const PART_BYTES: usize = 64 * 1024;

/// Sends a page's bytes, each part waiting at most `stall` for room. With a `stall` (an HTTP
/// client), in parts of at most [`PART_BYTES`] (copied, so that a part held by a slow
/// connection does not keep the whole page alive); without (the command line, which takes
/// whole records), as one part.
fn deliver_page(
    out: &tokio::sync::mpsc::Sender<Chunk>,
    chunk: Chunk,
    stall: Option<std::time::Duration>,
) -> Delivery {
    let bytes = match chunk {
        Ok(bytes) if stall.is_some() && bytes.len() > PART_BYTES => bytes,
        other => return deliver(out, other, stall),
    };
    for part in bytes.chunks(PART_BYTES) {
        match deliver(out, Ok(Bytes::copy_from_slice(part)), stall) {
            Delivery::Sent => {}
            other => return other,
        }
    }
    Delivery::Sent
}

/// Sends one part, waiting at most `stall` for room.
fn deliver(
    out: &tokio::sync::mpsc::Sender<Chunk>,
    chunk: Chunk,
    stall: Option<std::time::Duration>,
) -> Delivery {
    use tokio::sync::mpsc::error::TrySendError;
    let Some(stall) = stall else {
        return match out.blocking_send(chunk) {
            Ok(()) => Delivery::Sent,
            Err(_) => Delivery::Gone,
        };
    };
    let deadline = std::time::Instant::now() + stall;
    let mut chunk = chunk;
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        match out.try_send(chunk) {
            Ok(()) => return Delivery::Sent,
            Err(TrySendError::Closed(_)) => return Delivery::Gone,
            Err(TrySendError::Full(back)) => chunk = back,
        }
        if std::time::Instant::now() >= deadline {
            return Delivery::Stalled;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(20));
    }
}

/// Waits until the receiver has taken every part sent (or gone), at most `stall`.
fn drained(out: &tokio::sync::mpsc::Sender<Chunk>, stall: Option<std::time::Duration>) -> Delivery {
    let deadline = stall.map(|s| std::time::Instant::now() + s);
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        if out.is_closed() {
            return Delivery::Gone;
        }
        if out.capacity() == out.max_capacity() {
            return Delivery::Sent;
        }
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Delivery::Stalled;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(20));
    }
}

/// Threads assembling and encoding pages.
const WORKERS: usize = 2;

impl Job {
    /// Sends the export's chunks, in order, until the last page or the first error; stops
    /// early when the receiver goes away or stalls (see [`Job::stall`]).
    pub fn run(&self, out: &tokio::sync::mpsc::Sender<Chunk>) -> Delivery {
        use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
        type Work = (Vec<Document>, SyncSender<Chunk>);
        let (work_tx, work_rx) = sync_channel::<Work>(WORKERS);
        let work_rx = std::sync::Mutex::new(work_rx);
        let (order_tx, order_rx) = sync_channel::<Receiver<Chunk>>(WORKERS * 2);
        std::thread::scope(|scope| {
            for _ in 0..WORKERS {
                let work_rx = &work_rx;
                scope.spawn(move || loop {
                    let next = work_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((docs, done))) = next else { return };
                    let _ = done.send(self.encode_page(docs));
                });
            }
            // Sends pages on in order; stops at the first error or when the client goes away
            // or stalls.
            let sender = scope.spawn(move || {
                for page in order_rx {
                    let chunk = page
                        .recv()
                        .unwrap_or_else(|_| Err(std::io::Error::other("export worker stopped")));
                    let failed = chunk.is_err();
                    if let Err(e) = &chunk {
                        // The status line is gone: end the body with an error, so the client
                        // sees a broken transfer rather than a file that looks complete.
                        log::error!("export stopped: {e}");
                    }
                    match deliver_page(out, chunk, self.stall) {
                        Delivery::Sent if !failed => {}
                        Delivery::Sent => return Delivery::Sent,
                        other => return other,
                    }
                }
                Delivery::Sent
            });
            for ids in self.ids.chunks(EXPORT_PAGE) {
                let (done_tx, done_rx) = sync_channel::<Chunk>(1);
                if order_tx.send(done_rx).is_err() {
                    break;
                }
                match self.read_page(ids) {
                    Ok(docs) => {
                        if work_tx.send((docs, done_tx)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = done_tx.send(Err(e));
                        break;
                    }
                }
            }
            drop(order_tx);
            drop(work_tx);
            sender.join().unwrap_or(Delivery::Gone)
        })
    }

    /// The stored documents of these ids, in their order (those deleted since are left out).
    fn read_page(&self, ids: &[String]) -> Result<Vec<Document>, std::io::Error> {
        let mut conn = self.pool.get().map_err(std::io::Error::other)?;
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut docs: std::collections::HashMap<String, Document> =
            documents::get_many(&mut conn, &refs)
                .map_err(std::io::Error::other)?
                .into_iter()
                .map(|d| (d.id.clone(), d))
                .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match docs.remove(id) {
                Some(d) if !d.json.is_empty() => out.push(d),
                Some(_) => {
                    out.extend(documents::read(&mut conn, id).map_err(std::io::Error::other)?)
                }
                None => {}
            }
        }
        Ok(out)
    }

    fn encode_page(&self, docs: Vec<Document>) -> Chunk {
        let series = if self.series {
            let mut conn = self.pool.get().map_err(std::io::Error::other)?;
            let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
            Some(store::series(&mut conn, &ids).map_err(std::io::Error::other)?)
        } else {
            None
        };
        encode(
            docs,
            series.as_ref(),
            self.format,
            &self.rates,
            self.currency.as_deref(),
        )
    }
}

/// Streams every institute of the job's filter, in the order of its keys; `sequence` is the
/// change of the registry's sequence the export reflects (stated in a header, so that a copy
/// made from it can follow `/v1/changes` from there). The export's place (`permit`) is held
/// until the client has taken every part, has gone, or has taken nothing for the job's
/// `stall`; a stalled export's body then ends in an error (the client sees a broken transfer,
/// never a file that looks complete).
pub fn stream(job: Job, sequence: i64, permit: super::limits::ExportPermit) -> HttpResponse {
    use std::sync::atomic::{AtomicBool, Ordering};
    let format = job.format;
    let stall = job.stall;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    let stalled = std::sync::Arc::new(AtomicBool::new(false));
    let stalled_job = stalled.clone();
    let head = match format {
        Format::Csv => {
            let extra: Vec<String> = job
                .currency
                .iter()
                .map(|c| format!("budget_amount_{}", c.to_ascii_lowercase()))
                .collect();
            Some(csv_head(&extra, job.bom))
        }
        Format::Ndjson => None,
    };
    actix_web::rt::task::spawn_blocking(move || {
        let _permit = permit;
        let mut delivery = match head {
            Some(h) => deliver(&tx, Ok(h), stall),
            None => Delivery::Sent,
        };
        if delivery == Delivery::Sent {
            delivery = job.run(&tx);
        }
        if delivery == Delivery::Sent {
            delivery = drained(&tx, stall);
        }
        if delivery == Delivery::Stalled {
            log::warn!("export stopped: its client took nothing for {stall:?}");
            stalled_job.store(true, Ordering::Release);
        }
    });
    let body = futures_util::stream::unfold(rx, move |mut rx| {
        let stalled = stalled.clone();
        async move {
            match rx.recv().await {
                Some(item) => Some((item, rx)),
                None if stalled.swap(false, Ordering::AcqRel) => Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client stopped reading the export",
                    )),
                    rx,
                )),
                None => None,
            }
        }
    });
    let (content_type, file) = match format {
        Format::Csv => ("text/csv; charset=utf-8; header=present", "institutes.csv"),
        Format::Ndjson => ("application/x-ndjson", "institutes.ndjson"),
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        ))
        .insert_header((super::preconditions::SEQUENCE, sequence.to_string()))
        .streaming(body)
}
