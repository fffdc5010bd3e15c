//! The bulk commands: `import`, `export`, `generate` and `backup`.

use crate::api::export::{csv_head, Format, Job, EXPORT_PAGE};
use crate::db::{self, Backend, DbConnection};
use crate::model::input::Vocabulary;
use crate::model::interchange::{csv_column, CsvLayout, FileFormat, ImportRecord, Rejected};
use crate::store;
use crate::store::write::import::{Options, Outcome};
use diesel::connection::SimpleConnection;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::time::{Duration, Instant};

/// Progress on standard error: a bar on a terminal, else a plain line at most every two
/// seconds and at the end of each phase.
struct Reporter {
    bar: Option<ProgressBar>,
    phase: std::cell::RefCell<(String, Instant)>,
    /// The command, which starts each plain line.
    command: &'static str,
    /// What the percentage is of.
    of: &'static str,
}

impl Reporter {
    fn new(command: &'static str, of: &'static str) -> Reporter {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(100);
            bar.set_style(
                ProgressStyle::with_template("{msg} [{bar:40}] {pos}% ({eta} left)")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        });
        Reporter {
            bar,
            phase: std::cell::RefCell::new((String::new(), Instant::now())),
            command,
            of,
        }
    }

    /// `done` records of the phase, `percent` of the whole.
    fn update(&self, phase: &str, done: usize, percent: u64) {
        let message = format!("{phase} {done} records");
        if let Some(bar) = &self.bar {
            bar.set_message(message);
            bar.set_position(percent.min(100));
            return;
        }
        let mut last = self.phase.borrow_mut();
        if last.0 != phase || last.1.elapsed() >= Duration::from_secs(2) {
            eprintln!("{}: {message} ({percent}% {})", self.command, self.of);
            *last = (phase.to_string(), Instant::now());
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The history's author of imported changes.
pub const ACTOR: &str = "import";

/// What `import` was asked to do.
pub struct ImportArgs {
    pub file: String,
    pub format: Option<FileFormat>,
    pub options: Options,
    pub report: Option<String>,
}

/// A reader that counts the bytes read, for progress.
struct Counted<R> {
    inner: R,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Calls `each` with every element of a JSON array as it is read, holding one at a time.
struct Elements<'f, F>(&'f mut F);

impl<'de, F: FnMut(Result<Value, String>)> serde::de::Visitor<'de> for Elements<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of records")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element_seed(crate::model::json::Element)? {
            (self.0)(value);
        }
        Ok(())
    }
}

/// Reads the records of a file one by one, checking each against `vocab` and handing it (or
/// its rejection) to `take`, which returns false to stop. `read` counts the bytes read.
pub fn read_file(
    path: &str,
    format: FileFormat,
    vocab: &Vocabulary,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    mut take: impl FnMut(Result<ImportRecord, Rejected>) -> bool,
) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {path}: {e}"))?;
    let mut reader = BufReader::with_capacity(1 << 20, Counted { inner: file, read });
    let mut checked =
        |line: usize, label: String, value: Result<Value, Vec<crate::model::FieldError>>| {
            take(
                value
                    .map_err(|errors| Rejected {
                        line,
                        record: label,
                        errors,
                    })
                    .and_then(|v| ImportRecord::read(line, v, vocab)),
            )
        };
    let twice = |pointer: &str| {
        vec![crate::model::FieldError::new(
            pointer,
            "given more than once: an object gives each key once",
        )]
    };
    let unreadable = |e: &dyn std::fmt::Display| {
        vec![crate::model::FieldError::new(
            "",
            format!("not a JSON record: {e}"),
        )]
    };
    match format {
        FileFormat::Ndjson => {
            let mut line_no = 0;
            let mut buf = String::new();
            loop {
                buf.clear();
                let n = reader
                    .read_line(&mut buf)
                    .map_err(|e| format!("cannot read {path} at line {}: {e}", line_no + 1))?;
                if n == 0 {
                    break;
                }
                line_no += 1;
                let text = buf.trim_start_matches('\u{feff}').trim();
                if text.is_empty() {
                    continue;
                }
                let value = crate::model::json::parse(text.as_bytes()).map_err(|e| match e {
                    crate::model::json::JsonError::Syntax(e) => unreadable(&e),
                    crate::model::json::JsonError::DuplicateKey(pointer) => twice(&pointer),
                });
                if !checked(line_no, String::new(), value) {
                    break;
                }
            }
        }
        FileFormat::Json => {
            if reader
                .fill_buf()
                .map_err(|e| format!("cannot read {path}: {e}"))?
                .starts_with(b"\xEF\xBB\xBF")
            {
                reader.consume(3);
            }
            let mut n = 0;
            let mut go_on = true;
            let mut each = |value: Result<Value, String>| {
                n += 1;
                if go_on {
                    go_on = checked(n, String::new(), value.map_err(|p| twice(&p)));
                }
            };
            let mut de = serde_json::Deserializer::from_reader(reader);
            serde::Deserializer::deserialize_seq(&mut de, Elements(&mut each))
                .map_err(|e| format!("{path} is not a JSON array of records: {e}"))?;
        }
        FileFormat::Csv => {
            let newlines = std::rc::Rc::new(std::cell::RefCell::new((0, Vec::new())));
            let mut csv = csv::ReaderBuilder::new()
                .has_headers(true)
                .flexible(false)
                .from_reader(Lines {
                    inner: reader,
                    offset: 0,
                    newlines: newlines.clone(),
                });
            // The csv reader's own line count is off after CRLF line ends: count them here.
            let line_at = |byte: u64| {
                let seen = newlines.borrow();
                1 + seen.0 + seen.1.partition_point(|&n| n <= byte)
            };
            let header: Vec<String> = csv
                .headers()
                .map_err(|e| format!("cannot read the CSV header of {path}: {e}"))?
                .iter()
                .map(str::to_string)
                .collect();
            let layout = CsvLayout::new(&header).map_err(|e| format!("{path}: {e}"))?;
            let mut row = csv::StringRecord::new();
            loop {
                let line = line_at(csv.position().byte());
                let go_on = match csv.read_record(&mut row) {
                    Ok(false) => break,
                    Ok(true) => {
                        let line = row.position().map(|p| line_at(p.byte())).unwrap_or(line);
                        checked(line, layout.label(&row), layout.record(&row))
                    }
                    Err(e) => match e.kind() {
                        csv::ErrorKind::Io(_) => return Err(format!("cannot read {path}: {e}")),
                        _ => checked(
                            line,
                            String::new(),
                            Err(vec![crate::model::FieldError::new("", e.to_string())]),
                        ),
                    },
                };
                if !go_on {
                    break;
                }
                // Line ends before the reader's position are counted, not kept: memory stays
                // flat however long the file.
                let at = csv.position().byte();
                let mut seen = newlines.borrow_mut();
                let passed = seen.1.partition_point(|&n| n < at);
                if passed > 4096 {
                    seen.0 += passed;
                    seen.1.drain(..passed);
                }
            }
        }
    }
    Ok(())
}

/// A reader that notes where each line ends.
struct Lines<R> {
    inner: R,
    offset: u64,
    /// Line ends seen and forgotten, and the offsets of those kept.
    newlines: std::rc::Rc<std::cell::RefCell<(usize, Vec<u64>)>>,
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut seen = self.newlines.borrow_mut();
        for (i, b) in buf[..n].iter().enumerate() {
            if *b == b'\n' {
                seen.1.push(self.offset + i as u64);
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

fn print_rejections(format: FileFormat, rejected: &[Rejected], report: Option<&str>) {
    let place = if format == FileFormat::Json {
        "record"
    } else {
        "line"
    };
    let field = |f: &str| {
        if format == FileFormat::Csv {
            csv_column(f)
        } else {
            f.to_string()
        }
    };
    const SHOWN: usize = 50;
    let mut count = 0;
    for r in rejected {
        for e in &r.errors {
            if count < SHOWN {
                let name = if e.field.is_empty() {
                    "record".to_string()
                } else {
                    field(&e.field)
                };
                eprintln!(
                    "rejected {place} {} ({}): {}: {}",
                    r.line,
                    if r.record.is_empty() { "?" } else { &r.record },
                    name,
                    e.message
                );
            }
            count += 1;
        }
    }
    if count > SHOWN {
        eprintln!(
            "… and {} more problems{}",
            count - SHOWN,
            if report.is_some() {
                " (all in the report)"
            } else {
                "; --report FILE writes them all"
            }
        );
    }
}

fn write_report(format: FileFormat, rejected: &[Rejected], path: &str) -> Result<(), String> {
    let mut out = csv::Writer::from_path(path).map_err(|e| format!("cannot write {path}: {e}"))?;
    let fail = |e: csv::Error| format!("cannot write {path}: {e}");
    out.write_record(["line", "record", "field", "reason"])
        .map_err(fail)?;
    for r in rejected {
        for e in &r.errors {
            let field = if format == FileFormat::Csv {
                csv_column(&e.field)
            } else {
                e.field.clone()
            };
            out.write_record([
                r.line.to_string(),
                r.record.clone(),
                field,
                e.message.clone(),
            ])
            .map_err(fail)?;
        }
    }
    out.flush().map_err(|e| format!("cannot write {path}: {e}"))
}

/// Makes a new database ready for records: the reference data (countries, currencies,
/// sectors, rates) they are checked against.
fn ensure_reference(conn: &mut DbConnection) -> Result<(), String> {
    let vocab = store::write::vocabulary(conn).map_err(|e| e.to_string())?;
    if vocab.countries.is_empty() {
        let data = store::seed::Dataset::embedded()?;
        let report = store::seed::seed_reference(conn, &data).map_err(|e| e.to_string())?;
        eprintln!("import: new database: added the reference data ({report})");
    }
    Ok(())
}

/// `institute-registry import FILE`.
pub fn import(database_url: &str, args: ImportArgs) -> Result<(), String> {
    let started = Instant::now();
    // A dry run never creates a database: against a SQLite file that does not exist yet, it
    // checks the file against a new, empty registry in a scratch file, removed afterwards.
    let sqlite_path = database_url
        .strip_prefix("sqlite://")
        .unwrap_or(database_url);
    let scratch = (args.options.dry_run
        && Backend::from_url(database_url) == Backend::Sqlite
        && !std::path::Path::new(sqlite_path).exists())
    .then(|| {
        std::env::temp_dir()
            .join(format!(
                "institute-registry-dry-run-{}.db",
                std::process::id()
            ))
            .to_string_lossy()
            .into_owned()
    });
    if let Some(path) = &scratch {
        eprintln!(
            "import: {sqlite_path} does not exist and a dry run does not create it: checking \
             against a new, empty registry"
        );
        let outcome = import_into(path, started, args);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
        return outcome;
    }
    import_into(database_url, started, args)
}

fn import_into(database_url: &str, started: Instant, args: ImportArgs) -> Result<(), String> {
    let pool = db::connect(database_url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    if conn.backend() == Backend::Sqlite {
        // A large page cache for the index updates of a bulk load (this connection only).
        conn.batch_execute("PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY")
            .map_err(|e| e.to_string())?;
    }
    ensure_reference(&mut conn)?;
    let vocab = store::write::vocabulary(&mut conn).map_err(|e| e.to_string())?;
    let size = std::fs::metadata(&args.file)
        .map_err(|e| format!("cannot open {}: {e}", args.file))?
        .len();
    let format = match args.format {
        Some(f) => f,
        None => {
            let mut head = [0u8; 64];
            let n = std::fs::File::open(&args.file)
                .and_then(|mut f| f.read(&mut head))
                .map_err(|e| format!("cannot read {}: {e}", args.file))?;
            FileFormat::detect(&args.file, &head[..n])
        }
    };
    // The file is read and checked on its own thread while records are written: a bounded
    // queue between them keeps memory flat.
    let read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (tx, rx) = std::sync::mpsc::sync_channel(4 * 2000);
    let reader = {
        let (path, read) = (args.file.clone(), read.clone());
        std::thread::spawn(move || {
            let failed = read_file(&path, format, &vocab, read, |r| tx.send(Ok(r)).is_ok()).err();
            if let Some(message) = failed {
                let _ = tx.send(Err(message));
            }
        })
    };
    let rows = std::cell::Cell::new(0usize);
    let records = rx.into_iter().inspect(|_| rows.set(rows.get() + 1));
    let reporter = Reporter::new("import", "of the file read");
    let percent = || {
        (read.load(std::sync::atomic::Ordering::Relaxed) * 100)
            .checked_div(size)
            .unwrap_or(100)
    };
    let imported = store::write::import::import(
        &mut conn,
        records,
        store::write::import::Options {
            // About 1 kB a record: what decides a bulk load's strategy.
            expected: (size / 1000) as usize,
            ..args.options
        },
        ACTOR,
        &|phase, done| reporter.update(phase, done, percent()),
    );
    reader
        .join()
        .map_err(|_| "import failed: the file reader stopped".to_string())?;
    let outcome: Outcome =
        imported.map_err(|e| format!("import failed, nothing was written: {e}"))?;
    let rows = rows.get();
    reporter.finish();
    print_rejections(format, &outcome.rejected, args.report.as_deref());
    if let Some(path) = &args.report {
        write_report(format, &outcome.rejected, path)?;
    }
    let secs = started.elapsed().as_secs_f64();
    let verb = if outcome.committed {
        "imported"
    } else if args.options.dry_run && (outcome.rejected.is_empty() || args.options.partial) {
        "dry run, nothing written"
    } else {
        "refused, nothing written"
    };
    println!(
        "{verb}: {rows} records from {} in {secs:.1} s ({:.0} records/s): {} created, {} updated, \
         {} unchanged, {} rejected",
        args.file,
        rows as f64 / secs.max(1e-9),
        outcome.created,
        outcome.updated,
        outcome.unchanged,
        outcome.rejected.len()
    );
    if !outcome.rejected.is_empty() && !args.options.partial {
        return Err(format!(
            "{} records were rejected, so none was imported; fix them, or use --partial to \
             import the valid ones",
            outcome.rejected.len()
        ));
    }
    Ok(())
}

/// `institute-registry export`: every institute, by name, with its whole series.
pub fn export(database_url: &str, format: FileFormat, output: Option<&str>) -> Result<(), String> {
    // Off the async runtime the command line runs in: this thread blocks on the pipeline.
    let (url, output) = (database_url.to_string(), output.map(str::to_string));
    std::thread::spawn(move || export_blocking(&url, format, output.as_deref()))
        .join()
        .map_err(|_| "export failed".to_string())?
}

fn export_blocking(
    database_url: &str,
    format: FileFormat,
    output: Option<&str>,
) -> Result<(), String> {
    let started = Instant::now();
    let pool = db::connect(database_url, 3).map_err(|e| e.to_string())?;
    let (ids, rates, sequence) = {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        // Read first: every record of the file is as of this change or later, so a copy made
        // from the file follows /v1/changes from here with no gap.
        let sequence = store::write::sequence_head(&mut conn).map_err(|e| e.to_string())?;
        let ids = store::institutes::ids_by_name(&mut conn).map_err(|e| e.to_string())?;
        let rates = store::reference::rates_with_parities(&mut conn).map_err(|e| e.to_string())?;
        (ids, rates, sequence)
    };
    let matches = ids.len();
    let job = Job {
        pool,
        ids,
        rates,
        currency: None,
        format: match format {
            FileFormat::Csv => Format::Csv,
            _ => Format::Ndjson,
        },
        series: true,
        stall: None,
        bom: true,
    };
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(path).map_err(|e| format!("cannot create {path}: {e}"))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let target = output.unwrap_or("standard output").to_string();
    let fail = |e: std::io::Error| format!("cannot write {target}: {e}");
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let worker = std::thread::spawn(move || job.run(&tx));
    match format {
        FileFormat::Csv => out
            .write_all(&csv_head(&["budgets".into(), "headcounts".into()], true))
            .map_err(fail)?,
        FileFormat::Json => out.write_all(b"[").map_err(fail)?,
        FileFormat::Ndjson => {}
    }
    let mut first = true;
    let reporter = Reporter::new("export", "of the institutes");
    let mut pages = 0usize;
    while let Some(chunk) = rx.blocking_recv() {
        let chunk = chunk.map_err(|e| format!("export failed: {e}"))?;
        pages += 1;
        let done = (pages * EXPORT_PAGE).min(matches);
        reporter.update("exported", done, (done * 100 / matches.max(1)) as u64);
        if format == FileFormat::Json {
            for line in chunk.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                out.write_all(if first { b"\n" } else { b",\n" })
                    .map_err(fail)?;
                out.write_all(line).map_err(fail)?;
                first = false;
            }
        } else {
            out.write_all(&chunk).map_err(fail)?;
        }
    }
    reporter.finish();
    if format == FileFormat::Json {
        out.write_all(b"\n]\n").map_err(fail)?;
    }
    out.flush().map_err(fail)?;
    worker
        .join()
        .map_err(|_| "export failed: a worker stopped".to_string())?;
    if let Some(path) = output {
        let sidecar = format!("{path}.sequence");
        std::fs::write(&sidecar, format!("{sequence}\n"))
            .map_err(|e| format!("cannot write {sidecar}: {e}"))?;
    }
    eprintln!(
        "exported {matches} institutes to {target} in {:.1} s, as of change {sequence} of the \
         registry's sequence{}: a copy follows /v1/changes?after={sequence}",
        started.elapsed().as_secs_f64(),
        output.map_or(String::new(), |p| format!(" (also in {p}.sequence)"))
    );
    Ok(())
}

/// `institute-registry generate`: a synthetic registry for benchmarks, into a database of its
/// own (a new one, or one holding only the seed).
pub fn generate(database_url: &str, institutes: usize, seed: u64) -> Result<(), String> {
    let pool = db::connect(database_url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let data = store::seed::Dataset::embedded()?;
    store::seed::seed_if_new(&mut conn, &data).map_err(|e| format!("seed failed: {e}"))?;
    let held = store::generate::occupancy(&mut conn).map_err(|e| e.to_string())?;
    if held.synthetic > 0 {
        return Err(format!(
            "{database_url} already holds {} synthetic institutes; generate into a new database \
             (--database-url NEW)",
            held.synthetic
        ));
    }
    if held.written > 0 || held.keys > 0 {
        return Err(format!(
            "{database_url} is a registry in use ({} changes besides the seed, {} API keys); \
             generate writes only into a database of its own (--database-url NEW)",
            held.written, held.keys
        ));
    }
    eprintln!("generate: adding {institutes} synthetic institutes (seed {seed}) to {database_url}");
    let started = Instant::now();
    let reporter = Reporter::new("generate", "of the institutes");
    let report = store::generate::generate(&mut conn, institutes, seed, &|phase, done| {
        reporter.update(phase, done, (done * 100 / institutes.max(1)) as u64)
    })
    .map_err(|e| format!("generate failed, nothing was written: {e}"))?;
    reporter.finish();
    println!(
        "added {} synthetic institutes ({} budgets, {} headcounts) in {:.1} s",
        report.institutes,
        report.budgets,
        report.headcounts,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `institute-registry backup FILE`: a consistent copy of a SQLite database, taken while it
/// serves (`VACUUM INTO`). PostgreSQL databases are backed up with `pg_dump`.
pub fn backup(database_url: &str, target: &str) -> Result<(), String> {
    if Backend::from_url(database_url) != Backend::Sqlite {
        return Err(
            "backup copies SQLite databases; back PostgreSQL up with pg_dump -Fc (see README)"
                .into(),
        );
    }
    if std::path::Path::new(target).exists() {
        return Err(format!("{target} exists; backup never overwrites a file"));
    }
    let started = Instant::now();
    let pool = db::connect(database_url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let quoted = target.replace('\'', "''");
    conn.batch_execute(&format!("VACUUM INTO '{quoted}'"))
        .map_err(|e| format!("backup failed: {e}"))?;
    let size = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
    println!(
        "backed up to {target} ({:.1} MB) in {:.1} s",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
