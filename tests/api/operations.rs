//! Operations: request ids, metrics, rate limits, the in-flight limit, body bounds, pool
//! exhaustion and readiness that follows the database down and back up.

use crate::common::*;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test;
use institute_registry::api::limits::Limits;
use institute_registry::api::{build_app, AppState};
use institute_registry::db::{self, Backend, Pool};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The app on a fresh seeded database, with these limits.
async fn app_with(
    limits: Limits,
) -> (
    TestDb,
    Pool,
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
) {
    let (test_db, pool) = seeded();
    let state = AppState::new(pool.clone(), &test_db.url)
        .expect("the app state")
        .with_limits(limits);
    let service = test::init_service(build_app(state)).await;
    (test_db, pool, service)
}

fn from(ip: &str) -> test::TestRequest {
    test::TestRequest::get().peer_addr(format!("{ip}:40000").parse().unwrap())
}

fn is_generated_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[actix_rt::test]
async fn request_id_is_passed_through_or_generated_and_in_every_problem() {
    let (_db, _pool, app) = app().await;

    // A sane incoming id is kept and echoed.
    let r = send(
        &app,
        test::TestRequest::get()
            .uri("/healthz")
            .insert_header(("X-Request-Id", "client-42.retry:1")),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("x-request-id").as_deref(),
        Some("client-42.retry:1")
    );

    // None, or an unusable one: a new id.
    let r = get(&app, "/healthz").await;
    let generated = r.header("x-request-id").unwrap();
    assert!(is_generated_id(&generated), "{generated}");
    assert_ne!(
        get(&app, "/healthz").await.header("x-request-id"),
        Some(generated)
    );
    for bad in ["has space", "semi;colon", &"x".repeat(129), ""] {
        let r = send(
            &app,
            test::TestRequest::get()
                .uri("/healthz")
                .insert_header(("X-Request-Id", bad)),
        )
        .await;
        let id = r.header("x-request-id").unwrap();
        assert!(is_generated_id(&id), "{bad:?} gave {id}");
    }

    // In every problem body: an unknown path (the framework's fallback), a handler's 400, a
    // wrong method, a missing file under /docs.
    for (method, uri, status) in [
        ("GET", "/no/such/path", 404),
        ("GET", "/v1/institutes?limit=500", 400),
        ("DELETE", "/v1/sectors", 405),
        ("GET", "/docs/no-such-file.js", 404),
        ("GET", "/v1/institutes/no-such-institute", 404),
    ] {
        let r = send(
            &app,
            test::TestRequest::default()
                .method(method.parse().unwrap())
                .uri(uri)
                .insert_header(("X-Request-Id", "trace-7")),
        )
        .await;
        let p = r.problem(status);
        assert_eq!(p["request_id"], "trace-7", "{method} {uri}");
        assert_eq!(r.header("x-request-id").as_deref(), Some("trace-7"));
    }
    let r = get(&app, "/no/such/path").await;
    // The id is added last; the members keep their order.
    assert!(
        r.body.starts_with(br#"{"type":"#),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let p = r.problem(404);
    assert_eq!(
        Some(p["request_id"].as_str().unwrap().to_string()),
        r.header("x-request-id")
    );

    // Success answers carry the header too (Swagger UI included).
    assert!(get(&app, "/docs/").await.header("x-request-id").is_some());
    assert!(get(&app, "/v1/sectors")
        .await
        .header("x-request-id")
        .is_some());
}

fn metric_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[actix_rt::test]
async fn metrics_count_requests_by_route_and_status() {
    let (_db, _pool, app) = app().await;
    get(&app, "/v1/institutes/no-such-institute")
        .await
        .problem(404);
    get(&app, "/v1/institutes/another-missing-one")
        .await
        .problem(404);
    get_ok(&app, "/v1/sectors").await;
    get(&app, "/secret/raw/path").await.problem(404);

    let r = get(&app, "/metrics").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = String::from_utf8(r.body).unwrap();
    assert_eq!(
        metric_value(
            &text,
            r#"http_requests_total{method="GET",route="/v1/institutes/{ref}",status="404"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        metric_value(
            &text,
            r#"http_requests_total{method="GET",route="/v1/sectors",status="200"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        metric_value(
            &text,
            r#"http_requests_total{method="GET",route="unmatched",status="404"}"#
        ),
        Some(1.0)
    );
    // Never a raw path as a label.
    assert!(!text.contains("no-such-institute") && !text.contains("/secret/raw/path"));
    // The latency histogram by route.
    assert_eq!(
        metric_value(
            &text,
            r#"http_request_duration_seconds_bucket{route="/v1/institutes/{ref}",le="+Inf"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        metric_value(
            &text,
            r#"http_request_duration_seconds_count{route="/v1/institutes/{ref}"}"#
        ),
        Some(2.0)
    );
    assert!(
        metric_value(
            &text,
            r#"http_request_duration_seconds_sum{route="/v1/institutes/{ref}"}"#
        )
        .unwrap()
            > 0.0
    );
    assert!(
        text.contains(r#"http_request_duration_seconds_bucket{route="/v1/sectors",le="0.001"}"#)
    );
    // Pool gauges (the test pool holds at most 4), in-flight (this request), rejections.
    assert_eq!(metric_value(&text, "db_pool_max_connections"), Some(4.0));
    let idle = metric_value(&text, r#"db_pool_connections{state="idle"}"#).unwrap();
    let in_use = metric_value(&text, r#"db_pool_connections{state="in_use"}"#).unwrap();
    assert!(idle + in_use >= 1.0 && idle + in_use <= 4.0);
    assert_eq!(metric_value(&text, "http_requests_in_flight"), Some(1.0));
    assert_eq!(
        metric_value(
            &text,
            r#"http_requests_rejected_total{reason="rate_limited"}"#
        ),
        Some(0.0)
    );
    // HELP and TYPE for every metric.
    for (name, kind) in [
        ("http_requests_total", "counter"),
        ("http_request_duration_seconds", "histogram"),
        ("http_requests_rejected_total", "counter"),
        ("http_requests_in_flight", "gauge"),
        ("db_pool_connections", "gauge"),
        ("db_pool_max_connections", "gauge"),
    ] {
        assert!(text.contains(&format!("# HELP {name} ")), "{name}");
        assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{name}");
    }
    // Like the probes, it takes no query.
    let p = get(&app, "/metrics?verbose=1").await.problem(400);
    assert!(p["errors"][0]["field"] == "verbose");
}

#[actix_rt::test]
async fn rate_limit_answers_429_per_client_with_headers() {
    let (_db, pool, app) = app_with(Limits {
        rate_limit: 60,
        rate_limit_burst: 3,
        ..Default::default()
    })
    .await;
    // A live key is a client of its own (its scheme in any case): it does not spend the
    // address's allowance.
    let live = key(&pool, "reader", "editor");
    let with_key = || {
        from("10.0.0.1")
            .uri("/v1/sectors")
            .insert_header(("Authorization", format!("BEARER {live}")))
    };
    let r = send(&app, with_key()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("ratelimit-remaining").as_deref(), Some("2"));
    for remaining in ["2", "1", "0"] {
        let r = send(&app, from("10.0.0.1").uri("/v1/sectors")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("ratelimit-limit").as_deref(), Some("3"));
        assert_eq!(r.header("ratelimit-remaining").as_deref(), Some(remaining));
        assert_eq!(
            r.header("ratelimit-policy").as_deref(),
            Some("60;w=60;burst=3")
        );
        let reset: u64 = r.header("ratelimit-reset").unwrap().parse().unwrap();
        assert!((1..=3).contains(&reset));
    }
    let r = send(
        &app,
        from("10.0.0.1")
            .uri("/v1/institutes?limit=1")
            .insert_header(("X-Request-Id", "burst-4")),
    )
    .await;
    let p = r.problem(429);
    assert_eq!(p["type"], "/problems/rate-limited");
    assert_eq!(p["request_id"], "burst-4");
    assert!(
        p["detail"].as_str().unwrap().contains("retry in 1 s"),
        "{p}"
    );
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert_eq!(r.header("ratelimit-remaining").as_deref(), Some("0"));
    assert!(r.header("ratelimit-policy").is_some());
    assert_eq!(r.header("x-request-id").as_deref(), Some("burst-4"));

    // Another address is another client; so is the live key, from the throttled address.
    let r = send(&app, from("10.0.0.2").uri("/v1/sectors")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("ratelimit-remaining").as_deref(), Some("2"));
    let r = send(&app, with_key()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("ratelimit-remaining").as_deref(), Some("1"));
    // A key the server has not verified lately is looked up only while its address has
    // allowance left: from the throttled address, even a live one waits its turn.
    let fresh = key(&pool, "newcomer", "editor");
    let r = send(
        &app,
        from("10.0.0.1")
            .uri("/v1/sectors")
            .insert_header(("Authorization", format!("Bearer {fresh}"))),
    )
    .await;
    r.problem(429);
    // Made-up tokens, of a key's shape or not, count against the address: a fresh fake key per
    // request does not escape the limit.
    let mut rejected = 0;
    for n in 0..5u8 {
        for token in [
            format!("irk_{}", format!("{n:02x}").repeat(32)),
            "whatever".into(),
        ] {
            let r = send(
                &app,
                from("10.0.0.1")
                    .uri("/v1/sectors")
                    .insert_header(("Authorization", format!("Bearer {token}"))),
            )
            .await;
            r.problem(429);
            rejected += 1;
        }
    }
    assert_eq!(rejected, 10);

    // Probes and metrics are exempt, and carry no RateLimit headers.
    for uri in ["/healthz", "/readyz", "/metrics"] {
        let r = send(&app, from("10.0.0.1").uri(uri)).await;
        assert_eq!(r.status, 200, "{uri}");
        assert!(r.header("ratelimit-limit").is_none(), "{uri}");
    }
    let text = String::from_utf8(get(&app, "/metrics").await.body).unwrap();
    assert_eq!(
        metric_value(
            &text,
            r#"http_requests_rejected_total{reason="rate_limited"}"#
        ),
        Some(12.0)
    );
    assert_eq!(
        metric_value(
            &text,
            r#"http_requests_total{method="GET",route="/v1/institutes",status="429"}"#
        ),
        Some(1.0)
    );
}

#[actix_rt::test]
async fn forwarded_address_counts_only_behind_a_trusted_proxy() {
    let limits = Limits {
        rate_limit: 60,
        rate_limit_burst: 1,
        ..Default::default()
    };
    let via_proxy = |client: &str| {
        from("127.0.0.1")
            .uri("/v1/sectors")
            .insert_header(("X-Forwarded-For", client.to_string()))
    };
    let (_db, _pool, app) = app_with(Limits {
        trust_proxy: true,
        ..limits
    })
    .await;
    assert_eq!(send(&app, via_proxy("203.0.113.1")).await.status, 200);
    send(&app, via_proxy("203.0.113.1, 10.1.1.1"))
        .await
        .problem(429);
    assert_eq!(
        send(&app, via_proxy("203.0.113.2, 10.1.1.1")).await.status,
        200
    );

    // Not trusted: the header is ignored, the peer is the client.
    let (_db, _pool, app) = app_with(limits).await;
    assert_eq!(send(&app, via_proxy("203.0.113.1")).await.status, 200);
    send(&app, via_proxy("203.0.113.9")).await.problem(429);
}

#[actix_rt::test]
async fn beyond_the_in_flight_limit_503_at_once() {
    let (_db, pool, app) = app_with(Limits {
        max_in_flight: 1,
        ..Default::default()
    })
    .await;
    let key = key(&pool, "slow", "editor");
    // A keyed request held in flight: its body never comes until we send it.
    let (mut sender, payload) = actix_http::h1::Payload::create(false);
    let req = held_write("/v1/institutes", Some(&key), "10.0.0.4", payload);
    let held = test::call_service(&app, req);
    futures_util::pin_mut!(held);
    assert!(futures_util::poll!(held.as_mut()).is_pending());

    let started = Instant::now();
    let r = send(
        &app,
        test::TestRequest::get()
            .uri("/v1/sectors")
            .insert_header(("X-Request-Id", "crowded")),
    )
    .await;
    let p = r.problem(503);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(p["type"], "/problems/overloaded");
    assert_eq!(p["request_id"], "crowded");
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    assert_eq!(r.header("x-request-id").as_deref(), Some("crowded"));
    // Probes still answer.
    assert_eq!(get(&app, "/healthz").await.status, 200);
    let text = String::from_utf8(get(&app, "/metrics").await.body).unwrap();
    assert_eq!(
        metric_value(
            &text,
            r#"http_requests_rejected_total{reason="overloaded"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        metric_value(
            &text,
            r#"http_requests_total{method="GET",route="/v1/sectors",status="503"}"#
        ),
        Some(1.0)
    );

    // Once the held request is answered, there is room again.
    sender.feed_data("{}".into());
    sender.feed_eof();
    let res = held.await;
    assert_eq!(res.status(), 400);
    assert_eq!(get(&app, "/v1/sectors").await.status, 200);
}

#[actix_rt::test]
async fn bodies_are_bounded() {
    let (_db, pool, app) = app().await;
    let key = key(&pool, "big-body", "editor");
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(300 * 1024));
    let r = send(
        &app,
        test::TestRequest::post()
            .uri("/v1/institutes")
            .insert_header(("Authorization", format!("Bearer {key}")))
            .insert_header(("Content-Type", "application/json"))
            .insert_header(("X-Request-Id", "big"))
            .set_payload(big),
    )
    .await;
    let p = r.problem(413);
    assert_eq!(p["request_id"], "big");
}

#[actix_rt::test]
async fn pool_exhaustion_is_503() {
    let (test_db, pool) = seeded();
    let small = db::connect(&test_db.url, 1).unwrap();
    let app = test::init_service(build_app(
        AppState::new(small.clone(), &test_db.url).expect("the app state"),
    ))
    .await;
    drop(pool);
    let _held = small.get().unwrap();
    let started = Instant::now();
    // A point read needs a connection; lists and aggregates come from the read model.
    let r = get(&app, "/v1/institutes/mila").await;
    let p = r.problem(503);
    assert_eq!(p["type"], "/problems/unavailable");
    assert!(r.header("retry-after").is_some());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(get(&app, "/v1/sectors").await.status, 200);
}

/// A TCP proxy to the database that the test can cut (every connection closed, new ones
/// refused) and restore.
struct Proxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            cut: Default::default(),
            stop: Default::default(),
            open: Default::default(),
        };
        let (cut, stop, open) = (proxy.cut.clone(), proxy.stop.clone(), proxy.open.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let client = match listener.accept() {
                    Ok((client, _)) => client,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                };
                if cut.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let _ = client.set_nonblocking(false);
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let mut open = open.lock().unwrap();
                open.push(client.try_clone().unwrap());
                open.push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        loop {
                            match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => {
                                    if to.write_all(&buf[..n]).is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                        let _ = from.shutdown(std::net::Shutdown::Both);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        proxy
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
    }
}

/// GET /readyz until it answers `status`, for at most `within`; returns the last reply and
/// asserts that no single probe took longer than a few seconds.
async fn readyz_until<S, B>(app: &S, status: u16, within: Duration) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let deadline = Instant::now() + within;
    loop {
        let started = Instant::now();
        let r = get(app, "/readyz").await;
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "a readiness probe took {:?}",
            started.elapsed()
        );
        if r.status.as_u16() == status || Instant::now() > deadline {
            return r;
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_rt::test]
async fn readyz_fails_while_the_database_is_unreachable_and_recovers() {
    let (test_db, seeded_pool) = seeded();
    match test_db.backend() {
        Backend::Sqlite => {
            let app = test::init_service(build_app(
                AppState::new(seeded_pool, &test_db.url).expect("the app state"),
            ))
            .await;
            assert_eq!(get(&app, "/readyz").await.status, 200);
            let moved = format!("{}.moved", test_db.url);
            std::fs::rename(&test_db.url, &moved).unwrap();
            let r = get(&app, "/readyz").await;
            let p = r.problem(503);
            assert!(p["detail"].as_str().unwrap().contains(&test_db.url), "{p}");
            // Another file in its place is not the database either.
            std::fs::write(&test_db.url, b"").unwrap();
            let p = get(&app, "/readyz").await.problem(503);
            assert!(p["detail"].as_str().unwrap().contains("replaced"), "{p}");
            std::fs::rename(&moved, &test_db.url).unwrap();
            let r = get(&app, "/readyz").await;
            assert_eq!(r.status, 200);
            assert_eq!(r.json()["database"], "sqlite");
            get_ok(&app, "/v1/sectors").await;
        }
        Backend::Postgres => {
            let mut url = url::Url::parse(&test_db.url).unwrap();
            let upstream = url
                .socket_addrs(|| Some(5432))
                .unwrap()
                .into_iter()
                .next()
                .unwrap();
            let proxy = Proxy::start(upstream);
            url.set_host(Some("127.0.0.1")).unwrap();
            url.set_port(Some(proxy.addr.port())).unwrap();
            let pool = db::connect(url.as_str(), 4).unwrap();
            let app = test::init_service(build_app(
                AppState::new(pool, url.as_str()).expect("the app state"),
            ))
            .await;
            assert_eq!(get(&app, "/readyz").await.status, 200);
            get_ok(&app, "/v1/sectors").await;

            proxy.cut();
            for _ in 0..2 {
                let p = readyz_until(&app, 503, Duration::from_secs(5))
                    .await
                    .problem(503);
                assert_eq!(p["type"], "/problems/unavailable");
            }

            proxy.restore();
            let r = readyz_until(&app, 200, Duration::from_secs(15)).await;
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            assert_eq!(r.json()["database"], "postgresql");
            // Reads work again: connections from before the cut are not handed out.
            for _ in 0..6 {
                get_ok(&app, "/v1/sectors").await;
                get_ok(&app, "/v1/institutes?limit=2").await;
            }
            drop(proxy);
        }
    }
}

#[::core::prelude::v1::test]
fn serve_settings_have_documented_defaults() {
    use clap::Parser;
    use institute_registry::config::{Cli, Command};
    let Some(Command::Serve(args)) = Cli::try_parse_from(["institute-registry", "serve"])
        .unwrap()
        .command
    else {
        panic!("serve")
    };
    // Defaults, unless the environment running the tests sets them.
    if std::env::var_os("RATE_LIMIT").is_none() {
        assert_eq!(args.rate_limit, 1200);
    }
    if std::env::var_os("SHUTDOWN_TIMEOUT").is_none() {
        assert_eq!(args.shutdown_timeout, 30);
    }
    let Some(Command::Serve(args)) = Cli::try_parse_from([
        "institute-registry",
        "serve",
        "--rate-limit",
        "0",
        "--rate-limit-burst",
        "5",
        "--trust-proxy",
        "--max-in-flight",
        "64",
        "--max-connections",
        "100",
        "--keep-alive",
        "0",
    ])
    .unwrap()
    .command
    else {
        panic!("serve")
    };
    assert_eq!(
        (args.rate_limit, args.rate_limit_burst, args.trust_proxy),
        (0, 5, true)
    );
    assert_eq!(
        (args.max_in_flight, args.max_connections, args.keep_alive),
        (64, 100, 0)
    );
    // A burst of 0 or no connections at all make no sense.
    assert!(
        Cli::try_parse_from(["institute-registry", "serve", "--rate-limit-burst", "0"]).is_err()
    );
    assert!(
        Cli::try_parse_from(["institute-registry", "serve", "--max-connections", "0"]).is_err()
    );
}

/// A write whose body is `payload`: it arrives only as the test feeds it.
fn held_write(
    uri: &str,
    key: Option<&str>,
    peer: &str,
    payload: actix_http::h1::Payload,
) -> actix_http::Request {
    let mut req = test::TestRequest::post()
        .uri(uri)
        .peer_addr(format!("{peer}:40000").parse().unwrap())
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("Content-Length", "65536"));
    if let Some(key) = key {
        req = req.insert_header(("Authorization", format!("Bearer {key}")));
    }
    let (req, _) = req
        .to_request()
        .replace_payload(actix_http::Payload::from(payload));
    req
}

#[actix_rt::test]
async fn a_write_without_a_live_key_is_refused_before_its_body_is_read() {
    let (_db, pool, app) = app_with(Limits {
        max_in_flight: 4,
        ..Default::default()
    })
    .await;
    // Bodies that never arrive: without a key, with a made-up one, with a revoked one, with a
    // malformed header. Each is answered at once, and none holds a place in flight.
    let revoked = key(&pool, "gone", "editor");
    institute_registry::store::keys::revoke(&mut pool.get().unwrap(), "gone").unwrap();
    let fake = format!("irk_{}", "cd".repeat(32));
    for (n, token) in [None, Some(fake.as_str()), Some(revoked.as_str())]
        .into_iter()
        .enumerate()
    {
        for uri in [
            "/v1/institutes",
            "/v1/institutes/vector-institute/budgets",
            "/v1/programs",
        ] {
            let (_sender, payload) = actix_http::h1::Payload::create(false);
            let req = held_write(uri, token, "10.0.0.9", payload);
            let started = Instant::now();
            let res = tokio::time::timeout(Duration::from_secs(2), test::call_service(&app, req))
                .await
                .unwrap_or_else(|_| panic!("case {n}: {uri} waited for its body"));
            assert_eq!(res.status(), 401, "case {n}: {uri}");
            assert!(started.elapsed() < Duration::from_secs(1));
            let body: serde_json::Value =
                serde_json::from_slice(&test::read_body(res).await).unwrap();
            assert_eq!(body["type"], "/problems/unauthorized", "{body}");
        }
    }
    let (_sender, payload) = actix_http::h1::Payload::create(false);
    let mut req = held_write("/v1/institutes", None, "10.0.0.9", payload);
    req.headers_mut().insert(
        actix_web::http::header::AUTHORIZATION,
        actix_web::http::header::HeaderValue::from_static("Basic dXNlcjpwYXNz"),
    );
    let res = tokio::time::timeout(Duration::from_secs(2), test::call_service(&app, req))
        .await
        .expect("a malformed Authorization is answered at once");
    assert_eq!(res.status(), 401);
    // Matching affiliations is public: its body is read without a key.
    let r = send(
        &app,
        test::TestRequest::post()
            .uri("/v1/institutes/match")
            .insert_header(("Content-Type", "application/json"))
            .set_payload(r#"{"affiliations": ["Vector Institute, Toronto"]}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // Nothing was left in flight.
    let text = String::from_utf8(get(&app, "/metrics").await.body).unwrap();
    assert_eq!(metric_value(&text, "http_requests_in_flight"), Some(1.0));
}

#[actix_rt::test]
async fn a_body_that_trickles_past_the_deadline_is_408() {
    let (_db, pool, app) = app_with(Limits {
        body_timeout: Some(Duration::from_millis(300)),
        ..Default::default()
    })
    .await;
    let key = key(&pool, "trickle", "editor");
    let (mut sender, payload) = actix_http::h1::Payload::create(false);
    let req = held_write("/v1/institutes", Some(&key), "10.0.0.7", payload);
    sender.feed_data("{\"name\": ".into());
    let started = Instant::now();
    let res = tokio::time::timeout(Duration::from_secs(3), test::call_service(&app, req))
        .await
        .expect("the deadline ends the request");
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(res.status(), 408);
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let body: serde_json::Value = serde_json::from_slice(&test::read_body(res).await).unwrap();
    assert_eq!(body["type"], "/problems/request-timeout", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("0.3 s"), "{body}");
    // A body that arrives in time is unaffected.
    let r = post_json(
        &app,
        "/v1/institutes",
        &key,
        serde_json::json!({"name": "Prompt Institute", "country": "CA", "kind": "non_profit",
                           "sectors": ["healthcare"]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
}

#[actix_rt::test]
async fn one_client_may_hold_only_so_many_requests() {
    let (_db, pool, app) = app_with(Limits {
        max_client_in_flight: 2,
        ..Default::default()
    })
    .await;
    let key = key(&pool, "greedy", "editor");
    // Once the key is verified, its writes reach their bodies without waiting for a lookup.
    let r = send(
        &app,
        from("10.0.0.8")
            .uri("/v1/sectors")
            .insert_header(("Authorization", format!("Bearer {key}"))),
    )
    .await;
    assert_eq!(r.status, 200);
    let (_s1, payload) = actix_http::h1::Payload::create(false);
    let r1 = held_write("/v1/institutes", Some(&key), "10.0.0.5", payload);
    let (_s2, payload) = actix_http::h1::Payload::create(false);
    let r2 = held_write("/v1/institutes", Some(&key), "10.0.0.6", payload);
    let mut h1 = Box::pin(test::call_service(&app, r1));
    let mut h2 = Box::pin(test::call_service(&app, r2));
    assert!(futures_util::poll!(h1.as_mut()).is_pending());
    assert!(futures_util::poll!(h2.as_mut()).is_pending());
    // The same key, from anywhere: its third request is refused at once.
    let r = send(
        &app,
        from("10.0.0.8")
            .uri("/v1/sectors")
            .insert_header(("Authorization", format!("Bearer {key}"))),
    )
    .await;
    let p = r.problem(429);
    assert!(p["detail"].as_str().unwrap().contains("in progress"), "{p}");
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    // Other clients are not affected.
    assert_eq!(
        send(&app, from("10.0.0.8").uri("/v1/sectors")).await.status,
        200
    );
    // Once one of its requests ends, the client may send another.
    drop(h1);
    let r = send(
        &app,
        from("10.0.0.8")
            .uri("/v1/sectors")
            .insert_header(("Authorization", format!("Bearer {key}"))),
    )
    .await;
    assert_eq!(r.status, 200);
}

#[actix_rt::test]
async fn exports_are_bounded_in_all_and_per_client_and_a_stalled_one_lets_go() {
    let (_db, _pool, app) = app_with(Limits {
        max_exports: 2,
        max_client_exports: 1,
        export_stall: Some(Duration::from_millis(1500)),
        ..Default::default()
    })
    .await;
    let export = |ip: &str, format: &str| {
        from(ip)
            .uri(&format!("/v1/exports/institutes?format={format}"))
            .to_request()
    };
    // An export nobody reads holds its place.
    let held = test::call_service(&app, export("10.0.1.1", "ndjson")).await;
    assert_eq!(held.status(), 200);
    // The same client may not start another: 429.
    let r = send(
        &app,
        from("10.0.1.1").uri("/v1/exports/institutes?format=csv"),
    )
    .await;
    let p = r.problem(429);
    assert!(p["detail"].as_str().unwrap().contains("exports"), "{p}");
    assert_eq!(r.header("retry-after").as_deref(), Some("5"));
    // Its JSON pages are not exports: still served.
    assert_eq!(
        send(&app, from("10.0.1.1").uri("/v1/institutes?limit=1"))
            .await
            .status,
        200
    );
    // Another client's export fills the server: a third client is told to come back (503).
    let stalled = test::call_service(&app, export("10.0.1.2", "csv")).await;
    assert_eq!(stalled.status(), 200);
    let r = send(
        &app,
        from("10.0.1.3").uri("/v1/exports/institutes?format=ndjson"),
    )
    .await;
    let p = r.problem(503);
    assert!(p["detail"].as_str().unwrap().contains("exports"), "{p}");
    let metrics = String::from_utf8(get(&app, "/metrics").await.body).unwrap();
    assert!(metrics.contains("\nexports_streaming 2\n"), "{metrics}");

    // Read to its end, the first export gives its place back.
    let body = test::read_body(held).await;
    let total = get_ok(&app, "/v1/institutes?limit=1").await["total"]
        .as_u64()
        .unwrap();
    assert_eq!(body.iter().filter(|b| **b == b'\n').count() as u64, total);
    let mut r = send(
        &app,
        from("10.0.1.3").uri("/v1/exports/institutes?format=ndjson"),
    )
    .await;
    for _ in 0..50 {
        if r.status == 200 {
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(20)).await;
        r = send(
            &app,
            from("10.0.1.3").uri("/v1/exports/institutes?format=ndjson"),
        )
        .await;
    }
    assert_eq!(r.status, 200);

    // The export its client stopped reading lets go after the stall limit, and its body ends
    // in an error rather than looking complete.
    actix_rt::time::sleep(Duration::from_millis(1700)).await;
    let metrics = String::from_utf8(get(&app, "/metrics").await.body).unwrap();
    assert!(metrics.contains("\nexports_streaming 0\n"), "{metrics}");
    assert_eq!(
        send(
            &app,
            from("10.0.1.2").uri("/v1/exports/institutes?format=csv")
        )
        .await
        .status,
        200
    );
    assert!(actix_web::body::to_bytes(stalled.into_body())
        .await
        .is_err());
}

#[actix_rt::test]
async fn metrics_include_the_process_resident_memory() {
    let (_db, _pool, app) = app().await;
    let metrics = String::from_utf8(get(&app, "/metrics").await.body).unwrap();
    for name in [
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_cpu_seconds_total",
        "process_threads",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
        "exports_streaming",
    ] {
        let value: f64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
            .parse()
            .unwrap();
        assert!(value >= 0.0);
        assert!(metrics.contains(&format!("# TYPE {name} ")), "{name}");
    }
    let rss: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(rss > 1e6, "{rss}");
}
