//! The server's connections: how they are accepted and served, and the answers the HTTP/1.1
//! parser gives on its own, turned into problem documents.
//!
//! actix-http answers three failures itself, before any request exists for the app to see: a
//! head beyond its bounds (431: 128 KiB, 96 header fields), bytes that are not an HTTP/1.1
//! request (400), and a head that did not arrive within the client request timeout (408). Its
//! answers have no body and no request id. Each connection's stream is therefore wrapped in a
//! [`Wire`], which recognises such an answer as it is written (a 400, 408 or 431 head with
//! `content-length: 0` and no `x-request-id`: every answer of the app carries an id) and
//! writes in its place a problem document with a new request id, logged and counted in
//! `http_requests_rejected_total`. The parser closes the connection after any of them; the wire
//! then reads what the client still sends for a moment before closing (see [`Wire`]'s `Drop`).

use super::metrics::{Metrics, Rejection};
use super::AppState;
use crate::error::ApiError;
use actix_http::error::DispatchError;
use actix_http::{HttpService, KeepAlive};
use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt as _};
use actix_web::dev::{AppConfig, Server};
use actix_web::rt::net::TcpStream;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};

/// How connections are accepted and kept.
#[derive(Debug, Clone)]
pub struct Transport {
    /// Worker threads, each with its own event loop.
    pub workers: usize,
    /// Threads each worker may use for blocking (database) work.
    pub blocking_threads: usize,
    /// Connections each worker holds at most.
    pub connections_per_worker: usize,
    /// Pending connections the listening socket queues.
    pub backlog: u32,
    /// Time a client has to send a request's head (408 beyond).
    pub client_request_timeout: Duration,
    /// Time an idle keep-alive connection stays open; zero closes it after each response.
    pub keep_alive: Duration,
    /// Time given to a client to close its side of a connection the server closes.
    pub client_disconnect_timeout: Duration,
    /// Seconds given to requests in flight once the server stops accepting.
    pub shutdown_timeout: u64,
    /// TCP_USER_TIMEOUT in milliseconds (0: the kernel's default): how long sent data may stay
    /// unacknowledged before the kernel closes the connection.
    pub send_timeout_ms: u32,
}

impl Default for Transport {
    fn default() -> Self {
        Transport {
            workers: 1,
            blocking_threads: 12,
            connections_per_worker: 25_000,
            backlog: 2048,
            client_request_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(30),
            client_disconnect_timeout: Duration::from_secs(5),
            shutdown_timeout: 30,
            send_timeout_ms: 0,
        }
    }
}

/// Where a server listens: an address to bind (with the transport's backlog), or a socket
/// already bound.
pub enum Listen {
    Address(String),
    Socket(std::net::TcpListener),
}

/// A server of the app on `state`, not yet running (await it, or spawn it). Signals are left
/// to the caller, who stops it through its handle.
pub fn server(listen: Listen, transport: &Transport, state: AppState) -> io::Result<Server> {
    let t = transport.clone();
    let builder = actix_server::Server::build()
        .workers(t.workers.max(1))
        .worker_max_blocking_threads(t.blocking_threads.max(1))
        .max_concurrent_connections(t.connections_per_worker.max(1))
        .backlog(t.backlog)
        .shutdown_timeout(t.shutdown_timeout)
        .disable_signals();
    // Tells kept-alive connections to close once the server stops (as actix-web's server does).
    let stopping = builder.graceful_shutdown_signal();
    let factory = move || {
        let stopping = stopping.clone();
        let metrics = state.metrics.clone();
        let app = super::build_app(state.clone())
            .into_factory()
            .map_err(|e: actix_web::Error| e.error_response());
        let http = HttpService::build()
            .graceful_shutdown_signal(move || {
                let stopping = stopping.clone();
                async move { stopping.notified().await }
            })
            .keep_alive(if t.keep_alive.is_zero() {
                KeepAlive::Disabled
            } else {
                KeepAlive::Timeout(t.keep_alive)
            })
            .client_request_timeout(t.client_request_timeout)
            .client_disconnect_timeout(t.client_disconnect_timeout)
            .h1(map_config(app, |_| AppConfig::default()));
        let send_timeout_ms = t.send_timeout_ms;
        fn_service(move |io: TcpStream| {
            let peer = io.peer_addr().ok();
            if send_timeout_ms > 0 {
                set_send_timeout(&io, send_timeout_ms);
            }
            std::future::ready(Ok::<_, DispatchError>((
                Wire::new(io, metrics.clone()),
                peer,
            )))
        })
        .and_then(http)
    };
    let builder = match listen {
        Listen::Address(address) => builder.bind("institute-registry", address, factory)?,
        Listen::Socket(socket) => builder.listen("institute-registry", socket, factory)?,
    };
    Ok(builder.run())
}

/// Sets TCP_USER_TIMEOUT on a connection: the longest sent data may stay unacknowledged (or
/// the client's receive window stay shut) before the kernel closes the connection. actix has
/// no write timeout of its own, and a connection whose client stops reading would otherwise
/// hold its buffers for ever.
fn set_send_timeout(stream: &TcpStream, millis: u32) {
    use std::os::fd::AsRawFd;
    let value = millis as libc::c_uint;
    // SAFETY: the descriptor is the stream's own, open for the call; the option value is a
    // c_uint of the size given.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_USER_TIMEOUT,
            (&value as *const libc::c_uint).cast(),
            std::mem::size_of::<libc::c_uint>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        log::debug!("TCP_USER_TIMEOUT not set: {}", io::Error::last_os_error());
    }
}

/// A connection's stream, which replaces the parser's bare refusals with problem documents.
pub struct Wire {
    /// Taken only when the wire is dropped.
    io: Option<TcpStream>,
    metrics: Arc<Metrics>,
    /// The answer being written in place of a refusal, how much of it is written, and how
    /// many bytes of the refused write it stands for.
    replacing: Option<(Vec<u8>, usize, usize)>,
    /// Whether a refusal was written: the connection then closes lingering.
    refused: bool,
}

impl Wire {
    pub fn new(io: TcpStream, metrics: Arc<Metrics>) -> Wire {
        Wire {
            io: Some(io),
            metrics,
            replacing: None,
            refused: false,
        }
    }

    fn io(&mut self) -> Pin<&mut TcpStream> {
        Pin::new(self.io.as_mut().expect("open until dropped"))
    }
}

/// Connections closing after a refusal, at most [`MAX_LINGERING`] at once.
static LINGERING: AtomicUsize = AtomicUsize::new(0);
const MAX_LINGERING: usize = 256;
/// How long, and how many bytes, a refused connection is read and discarded before it closes.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1 << 20;

impl Drop for Wire {
    /// After a refusal, the client may still be sending what was refused (a head too large):
    /// closing with unread bytes resets the connection, and the reset can destroy the answer
    /// before the client reads it. So the server ends its side and reads what still comes,
    /// for a moment, before closing (as web servers do after an error).
    fn drop(&mut self) {
        let Some(mut io) = self.io.take().filter(|_| self.refused) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if LINGERING.fetch_add(1, Ordering::Relaxed) >= MAX_LINGERING {
            LINGERING.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        runtime.spawn(async move {
            let _ = tokio::time::timeout(LINGER, async {
                let _ = io.shutdown().await;
                let mut buf = [0u8; 8192];
                let mut read = 0;
                while read < LINGER_BYTES {
                    match io.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => read += n,
                    }
                }
            })
            .await;
            LINGERING.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// The longest refusal head actix-http writes (status line, `content-length`, `connection`,
/// `date`), with room to spare.
const REFUSAL_HEAD_MAX: usize = 256;

/// Where the parser's own refusal starts in `buf`, and its status: the last head of `buf`,
/// ending it exactly, with status 400, 408 or 431, `content-length: 0` and no request id.
fn refusal(buf: &[u8]) -> Option<(usize, u16)> {
    if !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let from = buf.len().saturating_sub(REFUSAL_HEAD_MAX);
    let tail = &buf[from..];
    let start = from + tail.windows(7).rposition(|w| w == b"HTTP/1.")?;
    let head = &buf[start..];
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    if end + 4 != head.len() {
        return None;
    }
    let status = match head.get(8..13)? {
        b" 400 " => 400,
        b" 408 " => 408,
        b" 431 " => 431,
        _ => return None,
    };
    let lower = head.to_ascii_lowercase();
    let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    (has(b"\r\ncontent-length: 0\r\n") && !has(b"\r\nx-request-id:")).then_some((start, status))
}

/// The problem document that stands for a refusal of `status`, as a whole response; `head` is
/// the refusal's, whose `date` it keeps.
fn problem_answer(status: u16, head: &[u8], metrics: &Metrics) -> Vec<u8> {
    let (error, why, reason) = match status {
        431 => (
            ApiError::HeadTooLarge(
                "the request line and headers exceed what the server reads (128 KiB, 96 header \
                 fields)"
                    .into(),
            ),
            Rejection::HeadTooLarge,
            "Request Header Fields Too Large",
        ),
        408 => (
            ApiError::RequestTimeout(
                "the request's head did not arrive in time; the connection is closed".into(),
            ),
            Rejection::HeadTimeout,
            "Request Timeout",
        ),
        _ => (
            ApiError::InvalidInput {
                detail: "the bytes received are not an HTTP/1.1 request (request line or \
                         headers unreadable)"
                    .into(),
                errors: Vec::new(),
            },
            Rejection::Unreadable,
            "Bad Request",
        ),
    };
    metrics.rejected(why);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut problem = error.to_problem();
    log::info!(
        "{status} from the connection ({}): request {id}",
        problem.detail
    );
    problem.request_id = Some(id.clone());
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let date = String::from_utf8_lossy(head)
        .split("\r\n")
        .find(|l| l.len() > 5 && l[..5].eq_ignore_ascii_case("date:"))
        .map(str::to_string);
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/problem+json\r\n\
         content-length: {}\r\nx-request-id: {id}\r\ncache-control: no-store\r\n\
         connection: close\r\n",
        body.len()
    );
    if let Some(date) = date {
        out.push_str(&date);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(&body);
    out
}

impl AsyncRead for Wire {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.io().poll_read(cx, buf)
    }
}

impl AsyncWrite for Wire {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacing.is_none() {
            match refusal(buf) {
                None => return this.io().poll_write(cx, buf),
                Some((start, status)) => {
                    let mut out = buf[..start].to_vec();
                    out.extend(problem_answer(status, &buf[start..], &this.metrics));
                    this.replacing = Some((out, 0, buf.len()));
                    this.refused = true;
                }
            }
        }
        // Everything written before the refusal, then the problem, stands for the whole of
        // the refused write (asked again with the same bytes while this is pending).
        let mut io = Pin::new(this.io.as_mut().expect("open until dropped"));
        let (out, written, owed) = this.replacing.as_mut().expect("set above");
        while *written < out.len() {
            match ready!(io.as_mut().poll_write(cx, &out[*written..])) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => *written += n,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        let owed = *owed;
        this.replacing = None;
        Poll::Ready(Ok(owed.min(buf.len())))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io().poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_told_from_the_apps_answers() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\
                     connection: close\r\ndate: Tue, 08 Dec 2026 00:22:15 GMT\r\n\r\n";
        assert_eq!(refusal(bare), Some((0, 431)));
        // After an answer of the app still in the buffer (pipelined requests).
        let app = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-request-id: a\r\n\r\n{}";
        let both = [
            &app[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n",
        ]
        .concat();
        assert_eq!(refusal(&both), Some((app.len(), 400)));
        // The app's answers: an id, or a body, or another status.
        for head in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nx-request-id: a\r\n\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 10\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nbody",
            b"{\"a\": \"HTTP/1.1 400 \"}\r\n\r\n",
        ] {
            assert_eq!(refusal(head), None, "{}", String::from_utf8_lossy(head));
        }
        let answer = problem_answer(431, bare, &Metrics::default());
        let text = String::from_utf8(answer).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains("\r\ndate: Tue, 08 Dec 2026 00:22:15 GMT"));
        assert!(head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())));
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["type"], "/problems/request-head-too-large");
        assert_eq!(problem["status"], 431);
        assert!(head.contains(problem["request_id"].as_str().unwrap()));
    }
}
