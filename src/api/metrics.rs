//! Process metrics in the Prometheus text format (0.0.4), served at `/metrics`.
//!
//! Labels are bounded: the route is the matched pattern (`/v1/institutes/{ref}`), never the
//! raw path, and `unmatched` for any path that no route has; unusual methods are `other`.
//! Each process counts its own requests; Prometheus scrapes every replica.

use super::institutes::no_query;
use super::AppState;
use crate::error::ApiError;
use actix_web::{get, web, HttpRequest, HttpResponse};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram's buckets.
pub const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Why a request was answered without being handled.
#[derive(Debug, Clone, Copy)]
pub enum Rejection {
    /// 429: the client's rate limit.
    RateLimited,
    /// 503: too many requests in flight, or the rate limiter's table is full.
    Overloaded,
    /// 400 from the connection: bytes that are not an HTTP/1.1 request.
    Unreadable,
    /// 431 from the connection: a request head beyond the parser's bounds.
    HeadTooLarge,
    /// 408 from the connection: a request head that did not arrive in time.
    HeadTimeout,
}

#[derive(Default, Clone)]
struct Histogram {
    /// Observations at most each bucket's bound (not cumulative; summed when rendered).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters shared by every worker of the process.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, String, u16), u64>>,
    durations: Mutex<BTreeMap<String, Histogram>>,
    rate_limited: AtomicU64,
    overloaded: AtomicU64,
    unreadable: AtomicU64,
    head_too_large: AtomicU64,
    head_timeout: AtomicU64,
    in_flight: AtomicUsize,
}

/// Decrements the in-flight gauge when the request is answered (or abandoned).
pub struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The method as a label: the standard ones, else `other`.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    /// Counts a request in flight until the guard drops; returns the guard and the new count.
    pub fn enter(&self) -> (InFlight<'_>, usize) {
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        (InFlight(&self.in_flight), now)
    }

    pub fn rejected(&self, why: Rejection) {
        match why {
            Rejection::RateLimited => &self.rate_limited,
            Rejection::Overloaded => &self.overloaded,
            Rejection::Unreadable => &self.unreadable,
            Rejection::HeadTooLarge => &self.head_too_large,
            Rejection::HeadTimeout => &self.head_timeout,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// Records one answered request.
    pub fn observe(
        &self,
        method: &actix_web::http::Method,
        route: Option<&str>,
        status: u16,
        elapsed: Duration,
    ) {
        let route = route.unwrap_or("unmatched");
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((method_label(method), route.to_string(), status))
                .or_default() += 1;
        }
        let secs = elapsed.as_secs_f64();
        if let Ok(mut durations) = self.durations.lock() {
            let h = durations.entry(route.to_string()).or_default();
            if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
                h.buckets[i] += 1;
            }
            h.count += 1;
            h.sum += secs;
        }
    }

    /// The exposition text, with the pool's gauges, the exports streaming, and the process's.
    pub fn render(&self, pool: &crate::db::Pool, exports: usize) -> String {
        let mut out = String::new();
        let requests = self.requests.lock().map(|r| r.clone()).unwrap_or_default();
        let durations = self.durations.lock().map(|d| d.clone()).unwrap_or_default();
        out.push_str(
            "# HELP http_requests_total HTTP requests answered, by method, matched route and status.\n\
             # TYPE http_requests_total counter\n",
        );
        for ((method, route, status), n) in &requests {
            let _ = writeln!(
                out,
                "http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str(
            "# HELP http_request_duration_seconds Time from a request's arrival to its response head, by matched route.\n\
             # TYPE http_request_duration_seconds histogram\n",
        );
        for (route, h) in &durations {
            let route = escape(route);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\n\
                 http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n\
                 http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count, h.sum, h.count
            );
        }
        let _ = write!(
            out,
            "# HELP http_requests_rejected_total Requests refused before handling: over a client's rate limit (429), over capacity (503), not readable as HTTP/1.1 (400), a head too large (431) or too slow (408).\n\
             # TYPE http_requests_rejected_total counter\n\
             http_requests_rejected_total{{reason=\"rate_limited\"}} {}\n\
             http_requests_rejected_total{{reason=\"overloaded\"}} {}\n\
             http_requests_rejected_total{{reason=\"unreadable\"}} {}\n\
             http_requests_rejected_total{{reason=\"head_too_large\"}} {}\n\
             http_requests_rejected_total{{reason=\"head_timeout\"}} {}\n\
             # HELP http_requests_in_flight Requests being handled now.\n\
             # TYPE http_requests_in_flight gauge\n\
             http_requests_in_flight {}\n",
            self.rate_limited.load(Ordering::Relaxed),
            self.overloaded.load(Ordering::Relaxed),
            self.unreadable.load(Ordering::Relaxed),
            self.head_too_large.load(Ordering::Relaxed),
            self.head_timeout.load(Ordering::Relaxed),
            self.in_flight.load(Ordering::Relaxed),
        );
        let state = pool.state();
        let _ = write!(
            out,
            "# HELP db_pool_connections Database connections in the pool, idle or in use.\n\
             # TYPE db_pool_connections gauge\n\
             db_pool_connections{{state=\"idle\"}} {}\n\
             db_pool_connections{{state=\"in_use\"}} {}\n\
             # HELP db_pool_max_connections The most connections the pool opens.\n\
             # TYPE db_pool_max_connections gauge\n\
             db_pool_max_connections {}\n",
            state.idle_connections,
            state.connections.saturating_sub(state.idle_connections),
            pool.max_size(),
        );
        let _ = write!(
            out,
            "# HELP exports_streaming CSV and NDJSON exports being streamed now.\n\
             # TYPE exports_streaming gauge\n\
             exports_streaming {exports}\n"
        );
        process_metrics(&mut out);
        out
    }
}

/// The process's own gauges, named as Prometheus' process collector names them, from `/proc`
/// (left out where there is no `/proc`).
fn process_metrics(out: &mut String) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    // The fields after the command name, which is in parentheses and may hold spaces.
    let Some(fields) = stat.rsplit_once(')').map(|(_, rest)| {
        rest.split_whitespace()
            .map(|f| f.parse::<u64>().unwrap_or(0))
            .collect::<Vec<u64>>()
    }) else {
        return;
    };
    // `man 5 proc`: utime and stime are fields 14 and 15, num_threads 20, starttime 22,
    // vsize 23, rss 24 (counting from 1, the pid); `fields` starts at field 3.
    let field = |n: usize| fields.get(n - 3).copied().unwrap_or(0);
    // SAFETY: sysconf has no preconditions; it only reads configuration values.
    let (ticks, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK).max(1) as f64,
            libc::sysconf(libc::_SC_PAGESIZE).max(1) as u64,
        )
    };
    let boot = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
        .unwrap_or(0.0);
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    let max_fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let _ = write!(
        out,
        "# HELP process_cpu_seconds_total User and system CPU time spent, in seconds.\n\
         # TYPE process_cpu_seconds_total counter\n\
         process_cpu_seconds_total {}\n\
         # HELP process_resident_memory_bytes Resident memory size in bytes.\n\
         # TYPE process_resident_memory_bytes gauge\n\
         process_resident_memory_bytes {}\n\
         # HELP process_virtual_memory_bytes Virtual memory size in bytes.\n\
         # TYPE process_virtual_memory_bytes gauge\n\
         process_virtual_memory_bytes {}\n\
         # HELP process_threads Threads of the process.\n\
         # TYPE process_threads gauge\n\
         process_threads {}\n\
         # HELP process_open_fds Open file descriptors.\n\
         # TYPE process_open_fds gauge\n\
         process_open_fds {fds}\n\
         # HELP process_max_fds The most file descriptors the process may open.\n\
         # TYPE process_max_fds gauge\n\
         process_max_fds {max_fds}\n\
         # HELP process_start_time_seconds Start time of the process since the Unix epoch, in seconds.\n\
         # TYPE process_start_time_seconds gauge\n\
         process_start_time_seconds {}\n",
        (field(14) + field(15)) as f64 / ticks,
        field(24) * page,
        field(23),
        field(20),
        boot + field(22) as f64 / ticks,
    );
}

/// A label value as the text format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Metrics
///
/// This process's metrics in the Prometheus text exposition format 0.0.4:
/// `http_requests_total{method,route,status}`, the `http_request_duration_seconds` histogram
/// by route, `http_requests_rejected_total{reason}` (`rate_limited`, `overloaded`, and
/// from the connection itself `unreadable`, `head_too_large`, `head_timeout`),
/// `http_requests_in_flight`, and the database pool's `db_pool_connections{state}` (`idle`,
/// `in_use`) and `db_pool_max_connections`, `exports_streaming`, and the process's
/// `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_cpu_seconds_total`,
/// `process_threads`, `process_open_fds`, `process_max_fds` and `process_start_time_seconds`. `route` is the matched route pattern, or
/// `unmatched`. Each server process counts its own requests: scrape every replica. Not rate
/// limited.
#[utoipa::path(
    tag = "operations",
    operation_id = "metrics",
    responses(
        (status = 200, description = "The metrics (`Content-Type: text/plain; version=0.0.4`).",
            content_type = "text/plain", body = String,
            example = "# HELP http_requests_total HTTP requests answered, by method, matched route and status.\n# TYPE http_requests_total counter\nhttp_requests_total{method=\"GET\",route=\"/v1/institutes/{ref}\",status=\"200\"} 3\n# HELP http_requests_in_flight Requests being handled now.\n# TYPE http_requests_in_flight gauge\nhttp_requests_in_flight 1\n"),
        (status = 400, response = super::problems::BadRequest),
        (status = 500, response = super::problems::InternalError)
    )
)]
#[get("/metrics")]
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(&state.pool, state.exports.running())))
}
