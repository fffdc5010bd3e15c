//! Admission: who a request counts against, per-client rate limits (GCRA) and concurrency, a
//! write's key checked before its body is read, and a deadline for a request's whole body.
//!
//! A client is its API key when the request carries a verified live key (checked against
//! [`super::auth::KeyRing`]; the table holds a hash of it, never the key), else its IP address
//! (IPv6 by /64 prefix, which one subscriber usually holds whole): a made-up key counts against
//! the address that sent it. Behind a reverse proxy (`trust_proxy`), the address is the
//! left-most `X-Forwarded-For` entry.
//!
//! The rate table's memory is bounded: a client whose allowance is full again carries no state
//! and is swept out; the table holds at most `Limits::max_clients` clients, and when it is full
//! of clients that are all still throttled, a new client is refused with 503 (`overloaded`)
//! rather than evicting a throttled one (which would hand it a fresh allowance).

use super::auth::{self, VerifiedKey};
use super::AppState;
use crate::error::ApiError;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Paths that neither rate limits nor the in-flight limit apply to: probes and metrics must
/// answer while the server is busy.
pub const EXEMPT_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The limits a server applies. The default limits nothing (the library default, used by
/// tests); `serve` sets them from its flags. A write's key is checked before its body is read
/// whatever the limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests per minute per client; 0: no rate limit.
    pub rate_limit: u32,
    /// Requests a client may send at once (at least 1).
    pub rate_limit_burst: u32,
    /// Whether the left-most `X-Forwarded-For` address is the client's.
    pub trust_proxy: bool,
    /// Requests handled at once; 0: no limit.
    pub max_in_flight: usize,
    /// Clients the rate limiter tracks at most.
    pub max_clients: usize,
    /// Requests one client may have in progress at once; 0: no limit.
    pub max_client_in_flight: usize,
    /// The longest a request's body may take to arrive, from the moment its head was read;
    /// `None`: no limit.
    pub body_timeout: Option<Duration>,
    /// Exports (CSV, NDJSON) streaming at once in this process; 0: no limit.
    pub max_exports: usize,
    /// Exports one client may have streaming at once; 0: no limit.
    pub max_client_exports: usize,
    /// The longest an export waits for its client to take the next part of it; beyond, the
    /// export stops (its body ends in an error) and frees its place. `None`: no limit.
    pub export_stall: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            rate_limit: 0,
            rate_limit_burst: 100,
            trust_proxy: false,
            max_in_flight: 0,
            max_clients: 100_000,
            max_client_in_flight: 0,
            body_timeout: None,
            max_exports: 0,
            max_client_exports: 0,
            export_stall: None,
        }
    }
}

/// Who a request counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientId {
    /// The first 16 bytes of the SHA-256 of the key.
    Key([u8; 16]),
    Ip(IpAddr),
    /// No address known (in-process tests without a peer address).
    Unknown,
}

impl ClientId {
    /// The client of a request: its verified key, else its address.
    pub fn of(
        req: &actix_web::HttpRequest,
        key: Option<&VerifiedKey>,
        trust_proxy: bool,
    ) -> ClientId {
        if let Some(key) = key {
            let digest = Sha256::digest(key.hash.as_bytes());
            let mut id = [0u8; 16];
            id.copy_from_slice(&digest[..16]);
            return ClientId::Key(id);
        }
        let forwarded = trust_proxy
            .then(|| {
                req.headers()
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split(',').next())
                    .and_then(parse_forwarded_ip)
            })
            .flatten();
        match forwarded.or_else(|| req.peer_addr().map(|a| a.ip())) {
            Some(ip) => ClientId::Ip(prefix(ip)),
            None => ClientId::Unknown,
        }
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_forwarded_ip(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse() {
        return Some(ip);
    }
    if let Ok(addr) = entry.parse::<std::net::SocketAddr>() {
        return Some(addr.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .and_then(|e| e.parse().ok())
}

/// IPv4 as is; IPv6 by its /64 network (IPv4-mapped addresses as IPv4).
fn prefix(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// What the limiter says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead; `remaining` more may follow at once; the allowance is full again in `reset` s.
    Allowed { remaining: u64, reset: u64 },
    /// Refused: the next request is allowed in `retry_after` s (at least 1).
    Limited { retry_after: u64, reset: u64 },
    /// The table is full of throttled clients and this one is new.
    Full,
}

/// The generic cell rate algorithm: each client has a theoretical arrival time (TAT); a
/// request is allowed when it would not push the TAT more than `burst` emission intervals
/// beyond now. One number per client, no timers.
pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
    /// Nanoseconds between two requests at the steady rate.
    interval: u64,
    /// Nanoseconds of credit a client may run ahead: `burst` intervals.
    tolerance: u64,
    max_clients: usize,
    start: Instant,
    table: Mutex<Table>,
}

struct Table {
    tat: HashMap<ClientId, u64>,
    last_sweep: u64,
}

const SECOND: u64 = 1_000_000_000;

fn ceil_secs(nanos: u64) -> u64 {
    nanos.div_ceil(SECOND)
}

impl RateLimiter {
    /// `None` when `per_minute` is 0 (no limit).
    pub fn new(per_minute: u32, burst: u32, max_clients: usize) -> Option<RateLimiter> {
        if per_minute == 0 {
            return None;
        }
        let burst = burst.max(1);
        let interval = (60 * SECOND / u64::from(per_minute)).max(1);
        Some(RateLimiter {
            per_minute,
            burst,
            interval,
            tolerance: interval * u64::from(burst),
            max_clients: max_clients.max(1),
            start: Instant::now(),
            table: Mutex::new(Table {
                tat: HashMap::new(),
                last_sweep: 0,
            }),
        })
    }

    /// `RateLimit-Policy`: the rate per 60 s window and the burst.
    pub fn policy(&self) -> String {
        format!("{};w=60;burst={}", self.per_minute, self.burst)
    }

    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// Clients tracked now.
    pub fn clients(&self) -> usize {
        self.table.lock().map(|t| t.tat.len()).unwrap_or(0)
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64 + 1
    }

    /// Whether one more request of `client` would be allowed now, counting nothing.
    pub fn would_allow(&self, client: &ClientId) -> bool {
        let now = self.now();
        let Ok(table) = self.table.lock() else {
            return true;
        };
        let tat = table.tat.get(client).copied().unwrap_or(now).max(now);
        tat + self.interval - now <= self.tolerance
    }

    /// Counts one request of `client` (when allowed) and says whether it may go ahead.
    pub fn check(&self, client: &ClientId) -> Decision {
        self.check_at(client, self.now())
    }

    fn check_at(&self, client: &ClientId, now: u64) -> Decision {
        let Ok(mut table) = self.table.lock() else {
            return Decision::Allowed {
                remaining: 0,
                reset: 0,
            };
        };
        // Idle clients (allowance full again) carry no state: sweep them out every 10 s, and
        // when the table is full (at most every 100 ms, so a full table costs little).
        let since = now.saturating_sub(table.last_sweep);
        if since > 10 * SECOND || (table.tat.len() >= self.max_clients && since > SECOND / 10) {
            table.tat.retain(|_, tat| *tat > now);
            table.last_sweep = now;
        }
        let known = table.tat.get(client).copied();
        if known.is_none() && table.tat.len() >= self.max_clients {
            return Decision::Full;
        }
        let tat = known.unwrap_or(now).max(now);
        let new_tat = tat + self.interval;
        if new_tat - now > self.tolerance {
            return Decision::Limited {
                retry_after: ceil_secs(new_tat - self.tolerance - now).max(1),
                reset: ceil_secs(tat - now),
            };
        }
        table.tat.insert(client.clone(), new_tat);
        Decision::Allowed {
            remaining: (self.tolerance - (new_tat - now)) / self.interval,
            reset: ceil_secs(new_tat - now),
        }
    }
}

fn header(name: &'static str, value: impl ToString) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(name),
        HeaderValue::from_str(&value.to_string()).unwrap_or(HeaderValue::from_static("0")),
    )
}

/// Requests in progress per client, for [`Limits::max_client_in_flight`].
#[derive(Default)]
pub struct ClientSlots {
    busy: Mutex<HashMap<ClientId, usize>>,
}

/// One request in progress; its client's count goes down when it is dropped.
pub struct Slot {
    slots: Arc<ClientSlots>,
    client: ClientId,
}

impl ClientSlots {
    /// Takes one of `client`'s `max` slots: `Ok(None)` when there is no limit, `Err(())` when
    /// every slot is taken.
    #[allow(clippy::result_unit_err)]
    pub fn enter(self: &Arc<Self>, client: &ClientId, max: usize) -> Result<Option<Slot>, ()> {
        if max == 0 {
            return Ok(None);
        }
        let Ok(mut busy) = self.busy.lock() else {
            return Ok(None);
        };
        let n = busy.entry(client.clone()).or_insert(0);
        if *n >= max {
            return Err(());
        }
        *n += 1;
        Ok(Some(Slot {
            slots: self.clone(),
            client: client.clone(),
        }))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.slots.busy.lock() {
            if let Some(n) = busy.get_mut(&self.client) {
                *n -= 1;
                if *n == 0 {
                    busy.remove(&self.client);
                }
            }
        }
    }
}

/// Exports streaming at once, in all and per client: an export holds an [`ExportPermit`]
/// from its start until its client has taken all of it, has gone, or has stalled.
#[derive(Default)]
pub struct ExportSlots {
    running: Mutex<usize>,
    clients: Arc<ClientSlots>,
}

/// One export's place; given back when dropped.
pub struct ExportPermit {
    slots: Arc<ExportSlots>,
    counted: bool,
    _client: Option<Slot>,
}

impl ExportSlots {
    /// Exports streaming now.
    pub fn running(&self) -> usize {
        self.running.lock().map_or(0, |n| *n)
    }

    /// A place for one more export of `client`: 429 when the client has its `max_client`
    /// exports streaming already, 503 when the process has `max` (0: no limit).
    pub fn enter(
        self: &Arc<Self>,
        client: &ClientId,
        max: usize,
        max_client: usize,
    ) -> Result<ExportPermit, ApiError> {
        let slot = self.clients.enter(client, max_client).map_err(|()| {
            ApiError::TooManyRequests {
                detail: format!(
                    "this client has {max_client} exports streaming already, as many as one client may; retry when one has finished"
                ),
                retry_after: 5,
            }
        })?;
        let mut counted = false;
        if max > 0 {
            let mut running = self
                .running
                .lock()
                .map_err(|_| ApiError::Internal("export slots poisoned".into()))?;
            if *running >= max {
                return Err(ApiError::Overloaded {
                    detail: format!(
                        "the server is streaming {max} exports, as many as it streams at once; retry shortly"
                    ),
                    retry_after: 5,
                });
            }
            *running += 1;
            counted = true;
        }
        Ok(ExportPermit {
            slots: self.clone(),
            counted,
            _client: slot,
        })
    }
}

impl Drop for ExportPermit {
    fn drop(&mut self) {
        if self.counted {
            if let Ok(mut running) = self.slots.running.lock() {
                *running = running.saturating_sub(1);
            }
        }
    }
}

/// A request body that fails once its deadline passes (and says so in `expired`), however
/// slowly its bytes trickle in.
struct Deadline {
    inner: actix_web::dev::Payload,
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
    done: bool,
}

impl futures_util::Stream for Deadline {
    type Item = Result<web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::future::Future;
        use std::task::Poll;
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = std::pin::Pin::new(&mut this.inner).poll_next(cx) {
            this.done = item.is_none();
            return Poll::Ready(item);
        }
        if this.timer.as_mut().poll(cx).is_ready() {
            this.done = true;
            this.expired.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(actix_web::error::PayloadError::Io(
                std::io::Error::new(std::io::ErrorKind::TimedOut, "request body deadline"),
            ))));
        }
        Poll::Pending
    }
}

/// Adds the client's allowance to a response the limiter applied to.
fn with_allowance(
    mut res: HttpResponse,
    limiter: &RateLimiter,
    remaining: u64,
    reset: u64,
) -> HttpResponse {
    let headers = res.headers_mut();
    for (name, value) in [
        header("ratelimit-limit", limiter.burst()),
        header("ratelimit-remaining", remaining),
        header("ratelimit-reset", reset),
        header("ratelimit-policy", limiter.policy()),
    ] {
        headers.insert(name, value);
    }
    res
}

/// Middleware (inside the request id, metrics and error handlers; around every handler): for
/// every request but the exempt paths, in this order — verifies the request's key, if any
/// (only a verified key identifies a client; a token not verified lately is looked up only while
/// its address has allowance left); applies the client's rate limit; refuses an
/// operation that needs a key without a live one, before its body is read; holds one of the
/// client's slots while the request is handled; and fails a body that has not arrived within
/// the body deadline (408). Responses it applies the rate limit to state the client's allowance
/// in `RateLimit-*` headers.
pub async fn admit(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if EXEMPT_PATHS.contains(&req.path()) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let refuse = |req: ServiceRequest,
                  error: ApiError,
                  allowance: Option<(u64, u64)>|
     -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
        let mut res = HttpResponse::from_error(error);
        if let (Some(limiter), Some((remaining, reset))) = (&state.limiter, allowance) {
            res = with_allowance(res, limiter, remaining, reset);
        }
        Ok(req.into_response(res).map_into_boxed_body())
    };
    // A key verified lately identifies its client at once. Any other token is looked up only
    // while the sending address has allowance left, and counts against that address unless it
    // is a live key: made-up keys cost the address's allowance, and no query once it is spent.
    let token = auth::bearer(req.request()).ok().flatten();
    let mut key = token.as_deref().and_then(|t| state.keys.recognise(t));
    let mut charged = None;
    if let (Some(secret), None) = (&token, &key) {
        let address = ClientId::of(req.request(), None, state.limits.trust_proxy);
        match &state.limiter {
            // The address is throttled: no lookup; the request counts against it.
            Some(limiter) if !limiter.would_allow(&address) => {
                charged = Some(limiter.check(&address));
            }
            _ => {
                key = match state.keys.verify(&state.pool, secret).await {
                    Ok(key) => key,
                    Err(e) => return refuse(req, e, None),
                };
            }
        }
    }
    let client = ClientId::of(req.request(), key.as_ref(), state.limits.trust_proxy);
    let mut allowance = None;
    if let Some(limiter) = &state.limiter {
        match charged.unwrap_or_else(|| limiter.check(&client)) {
            Decision::Allowed { remaining, reset } => allowance = Some((remaining, reset)),
            Decision::Limited { retry_after, reset } => {
                state
                    .metrics
                    .rejected(super::metrics::Rejection::RateLimited);
                let error = ApiError::TooManyRequests {
                    detail: format!(
                        "this client sent more than its {} requests a minute (bursts of {}); retry in {retry_after} s",
                        limiter.per_minute, limiter.burst
                    ),
                    retry_after,
                };
                return refuse(req, error, Some((0, reset)));
            }
            Decision::Full => {
                state
                    .metrics
                    .rejected(super::metrics::Rejection::Overloaded);
                let error = ApiError::Overloaded {
                    detail: "the server tracks as many clients as it can; retry shortly".into(),
                    retry_after: 1,
                };
                return refuse(req, error, None);
            }
        }
    }
    let needs_key = req
        .app_data::<web::Data<super::RouteTable>>()
        .is_some_and(|t| t.needs_key(req.path(), req.method()));
    if needs_key && key.is_none() {
        let error = auth::refusal(req.request());
        return refuse(req, error, allowance);
    }
    req.extensions_mut().insert(client.clone());
    let max = state.limits.max_client_in_flight;
    let _slot = match state.slots.enter(&client, max) {
        Ok(slot) => slot,
        Err(()) => {
            state
                .metrics
                .rejected(super::metrics::Rejection::RateLimited);
            let error = ApiError::TooManyRequests {
                detail: format!(
                    "this client has {max} requests in progress already, as many as one client may; retry when one is answered"
                ),
                retry_after: 1,
            };
            return refuse(req, error, allowance);
        }
    };
    let expired = Arc::new(AtomicBool::new(false));
    if let Some(limit) = state.limits.body_timeout {
        if ![Method::GET, Method::HEAD, Method::OPTIONS].contains(req.method()) {
            let inner = req.take_payload();
            let deadline = Deadline {
                inner,
                timer: Box::pin(tokio::time::sleep(limit)),
                expired: expired.clone(),
                done: false,
            };
            let boxed: actix_http::BoxedPayloadStream = Box::pin(deadline);
            req.set_payload(boxed.into());
        }
    }
    let res = next.call(req).await?.map_into_boxed_body();
    let res = if expired.load(Ordering::Acquire) {
        let limit = state.limits.body_timeout.unwrap_or_default();
        let (req, _) = res.into_parts();
        let mut res = HttpResponse::from_error(ApiError::RequestTimeout(format!(
            "the request body did not arrive within {} s",
            limit.as_secs_f64()
        )));
        res.head_mut()
            .set_connection_type(actix_http::ConnectionType::Close);
        ServiceResponse::new(req, res).map_into_boxed_body()
    } else {
        res
    };
    let (req, mut res) = res.into_parts();
    if let (Some(limiter), Some((remaining, reset))) = (&state.limiter, allowance) {
        res = with_allowance(res, limiter, remaining, reset);
    }
    Ok(ServiceResponse::new(req, res))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_allows_a_burst_then_the_steady_rate() {
        let limiter = RateLimiter::new(60, 3, 10).unwrap();
        let c = ClientId::Unknown;
        let t0 = SECOND;
        for remaining in [2, 1, 0] {
            assert!(matches!(
                limiter.check_at(&c, t0),
                Decision::Allowed { remaining: r, .. } if r == remaining
            ));
        }
        assert_eq!(
            limiter.check_at(&c, t0),
            Decision::Limited {
                retry_after: 1,
                reset: 3
            }
        );
        // One interval (1 s) later, one more is allowed.
        assert!(matches!(
            limiter.check_at(&c, t0 + SECOND),
            Decision::Allowed { remaining: 0, .. }
        ));
        // Another client is not affected.
        assert!(matches!(
            limiter.check_at(&ClientId::Ip("10.0.0.1".parse().unwrap()), t0),
            Decision::Allowed { remaining: 2, .. }
        ));
    }

    #[test]
    fn the_table_is_bounded() {
        let limiter = RateLimiter::new(60, 2, 2).unwrap();
        let ip = |n: u8| ClientId::Ip(IpAddr::from([10, 0, 0, n]));
        let t0 = SECOND;
        assert!(matches!(
            limiter.check_at(&ip(1), t0),
            Decision::Allowed { .. }
        ));
        assert!(matches!(
            limiter.check_at(&ip(2), t0),
            Decision::Allowed { .. }
        ));
        assert_eq!(limiter.check_at(&ip(3), t0), Decision::Full);
        // Known clients still go on.
        assert!(matches!(
            limiter.check_at(&ip(1), t0),
            Decision::Allowed { .. }
        ));
        // Once the others are idle again, they are swept out and a new client fits.
        assert!(matches!(
            limiter.check_at(&ip(3), t0 + 3 * SECOND),
            Decision::Allowed { .. }
        ));
        assert_eq!(limiter.clients(), 1);
    }

    #[test]
    fn ipv6_clients_by_prefix() {
        let a: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert_eq!(prefix(a), prefix(b));
        assert_eq!(
            parse_forwarded_ip(" [2001:db8::1]:443"),
            "2001:db8::1".parse().ok()
        );
        assert_eq!(parse_forwarded_ip("1.2.3.4"), "1.2.3.4".parse().ok());
        assert_eq!(parse_forwarded_ip("unknown"), None);
    }
}
