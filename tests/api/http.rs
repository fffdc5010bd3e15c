//! The HTTP layer every response shares: HEAD, ETags and 304s on every GET, caching headers,
//! compression, CORS.

use crate::common::*;
use actix_web::test;
use institute_registry::api::http::CorsPolicy;
use institute_registry::api::wire::{server, Listen, Transport};
use institute_registry::api::{build_app, AppState};
use std::io::{Read, Write};

/// The app on a real socket, served as `serve` serves it (so that the connection layer's own
/// behaviour shows); returns its address. The server stops with the test's runtime.
fn serve(state: AppState) -> std::net::SocketAddr {
    serve_with(state, Transport::default())
}

fn serve_with(state: AppState, transport: Transport) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = server(Listen::Socket(listener), &transport, state).unwrap();
    actix_rt::spawn(server);
    addr
}

/// Sends raw request bytes on a new connection and reads until the server closes it (what
/// arrived before a reset included).
async fn raw(addr: std::net::SocketAddr, request: impl Into<Vec<u8>>) -> String {
    raw_in_parts(addr, vec![request.into()], std::time::Duration::ZERO)
        .await
        .1
}

/// As [`raw`], sending `parts` with `pause` between them; also whether every part was taken.
async fn raw_in_parts(
    addr: std::net::SocketAddr,
    parts: Vec<Vec<u8>>,
    pause: std::time::Duration,
) -> (std::io::Result<()>, String) {
    actix_web::rt::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut sent = Ok(());
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                std::thread::sleep(pause);
            }
            sent = sent.and(s.write_all(part));
        }
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        (sent, String::from_utf8_lossy(&out).into_owned())
    })
    .await
    .unwrap()
}

fn header_of<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[actix_rt::test]
async fn head_answers_as_get_without_a_body() {
    let (test_db, pool) = seeded();
    let addr = serve(AppState::new(pool, &test_db.url).unwrap());
    for path in [
        "/healthz",
        "/v1/institutes/mila",
        "/v1/institutes?limit=3",
        "/v1/stats?group_by=country",
        "/openapi.json",
    ] {
        let request = |method: &str| {
            format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        };
        let get = raw(addr, request("GET")).await;
        let head = raw(addr, request("HEAD")).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}");
        let (head_part, body) = head.split_once("\r\n\r\n").unwrap();
        assert_eq!(body, "", "{path}: HEAD sent a body");
        let length = header_of(&get, "content-length").unwrap();
        assert_eq!(
            header_of(head_part, "content-length"),
            Some(length),
            "{path}"
        );
        assert_eq!(
            header_of(&get, "content-type"),
            header_of(&head, "content-type")
        );
        assert_eq!(header_of(&get, "etag"), header_of(&head, "etag"), "{path}");
        assert!(header_of(&head, "etag").is_some(), "{path}: {head}");
    }
    // An export's HEAD says what it would send, and sends nothing.
    let head = raw(
        addr,
        "HEAD /v1/exports/institutes?format=csv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(header_of(&head, "content-type")
        .unwrap()
        .starts_with("text/csv"));
    assert_eq!(head.split_once("\r\n\r\n").unwrap().1, "");
    // Errors alike.
    let head = raw(
        addr,
        "HEAD /v1/institutes/no-such HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    assert_eq!(head.split_once("\r\n\r\n").unwrap().1, "");
    // OPTIONS names HEAD among the methods.
    let (_db, _pool, app) = app().await;
    let r = send(
        &app,
        test::TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/v1/institutes"),
    )
    .await;
    assert!(
        r.header("allow").unwrap().contains("HEAD"),
        "{:?}",
        r.header("allow")
    );
}

#[actix_rt::test]
async fn every_get_has_an_etag_and_answers_304_while_it_is_current() {
    let (_db, pool, app) = app().await;
    for path in [
        "/v1/institutes?limit=5",
        "/v1/institutes?q=mila",
        "/v1/institutes/suggest?q=al",
        "/v1/countries",
        "/v1/countries/CA",
        "/v1/sectors",
        "/v1/programs",
        "/v1/exchange-rates",
        "/v1/stats?group_by=country",
        "/v1/changes?limit=5",
        "/v1/institutes/mila/budgets",
        "/v1/institutes/mila/history",
        "/openapi.json",
    ] {
        let first = get(&app, path).await;
        assert_eq!(first.status, 200, "{path}");
        let tag = first
            .header("etag")
            .unwrap_or_else(|| panic!("{path}: no ETag"));
        assert!(tag.starts_with('"') && tag.ends_with('"'), "{path}: {tag}");
        assert_eq!(
            first.header("cache-control").as_deref(),
            Some("public, no-cache"),
            "{path}"
        );
        let again = send(
            &app,
            test::TestRequest::get()
                .uri(path)
                .insert_header(("If-None-Match", tag.clone())),
        )
        .await;
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), Some(tag.clone()), "{path}");
        assert!(again.header("cache-control").is_some(), "{path}");
        // Another tag, or a weak form of it: compared weakly, as RFC 9110 says for GET.
        let weak = send(
            &app,
            test::TestRequest::get()
                .uri(path)
                .insert_header(("If-None-Match", format!("\"other\", W/{tag}"))),
        )
        .await;
        assert_eq!(weak.status, 304, "{path}");
        let other = send(
            &app,
            test::TestRequest::get()
                .uri(path)
                .insert_header(("If-None-Match", "\"other\"")),
        )
        .await;
        assert_eq!(other.status, 200, "{path}");
        assert_eq!(other.body, first.body, "{path}");
    }
    // Reads vary on Accept and Accept-Encoding.
    let r = get(&app, "/v1/institutes?limit=5").await;
    let vary: Vec<String> = r
        .headers
        .get_all("vary")
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let vary = vary.join(",");
    assert!(
        vary.contains("Accept-Encoding") && vary.contains("Accept"),
        "{vary}"
    );
    // A list's tag changes with its content.
    let before = get(&app, "/v1/institutes?country=CA").await;
    let k = key(&pool, "tagger", "editor");
    let mila = get(&app, "/v1/institutes/mila").await;
    let r = send(
        &app,
        test::TestRequest::patch()
            .uri("/v1/institutes/mila")
            .insert_header(("Authorization", format!("Bearer {k}")))
            .insert_header(("If-Match", mila.header("etag").unwrap()))
            .insert_header(("Content-Type", "application/merge-patch+json"))
            .set_payload(r#"{"city": "Montréal, Québec"}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let after = send(
        &app,
        test::TestRequest::get()
            .uri("/v1/institutes?country=CA")
            .insert_header(("If-None-Match", before.header("etag").unwrap())),
    )
    .await;
    assert_eq!(after.status, 200);
    assert_ne!(after.header("etag"), before.header("etag"));
    // Reads sent with a key are for that client only; errors, probes and metrics not stored.
    let r = send(
        &app,
        test::TestRequest::get()
            .uri("/v1/sectors")
            .insert_header(("Authorization", format!("Bearer {k}"))),
    )
    .await;
    assert_eq!(
        r.header("cache-control").as_deref(),
        Some("private, no-cache")
    );
    for path in [
        "/v1/institutes/no-such",
        "/healthz",
        "/metrics",
        "/v1/institutes?sort=x",
    ] {
        let r = get(&app, path).await;
        assert_eq!(
            r.header("cache-control").as_deref(),
            Some("no-store"),
            "{path}"
        );
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[actix_rt::test]
async fn answers_are_compressed_as_the_client_asks() {
    let (_db, _pool, app) = app().await;
    let path = "/v1/institutes?limit=100";
    let plain = get(&app, path).await;
    assert!(plain.header("content-encoding").is_none());
    assert!(plain.body.len() > 10_000);
    let with = |encoding: &'static str| {
        test::TestRequest::get()
            .uri(path)
            .insert_header(("Accept-Encoding", encoding))
    };
    let r = send(&app, with("gzip")).await;
    assert_eq!(r.header("content-encoding").as_deref(), Some("gzip"));
    assert!(r.body.len() * 2 < plain.body.len(), "{}", r.body.len());
    assert_eq!(gunzip(&r.body), plain.body);
    // The same tag, whatever the coding: a tag read compressed works in If-Match.
    assert_eq!(r.header("etag"), plain.header("etag"));

    let r = send(&app, with("gzip;q=0.5, br")).await;
    assert_eq!(r.header("content-encoding").as_deref(), Some("br"));
    let mut out = Vec::new();
    brotli::Decompressor::new(&r.body[..], 4096)
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, plain.body);

    let r = send(&app, with("zstd, gzip;q=0.1")).await;
    assert_eq!(r.header("content-encoding").as_deref(), Some("zstd"));
    assert_eq!(zstd::decode_all(&r.body[..]).unwrap(), plain.body);

    // Equal weights: the server's order (brotli, zstd, gzip).
    let r = send(&app, with("gzip, deflate, br, zstd")).await;
    assert_eq!(r.header("content-encoding").as_deref(), Some("br"));
    // Refused codings and unknown ones: as it is.
    for refused in ["gzip;q=0", "identity", "compress", "*;q=0"] {
        let r = send(&app, with(refused)).await;
        assert!(r.header("content-encoding").is_none(), "{refused}");
        assert_eq!(r.body, plain.body, "{refused}");
    }
    let r = send(&app, with("*")).await;
    assert_eq!(r.header("content-encoding").as_deref(), Some("br"));

    // Small bodies are sent as they are.
    let r = send(
        &app,
        test::TestRequest::get()
            .uri("/healthz")
            .insert_header(("Accept-Encoding", "gzip")),
    )
    .await;
    assert!(r.header("content-encoding").is_none());

    // Exports are compressed as they stream.
    let csv = get(&app, "/v1/exports/institutes?format=csv").await;
    let r = send(
        &app,
        test::TestRequest::get()
            .uri("/v1/exports/institutes?format=csv")
            .insert_header(("Accept-Encoding", "gzip")),
    )
    .await;
    assert_eq!(r.header("content-encoding").as_deref(), Some("gzip"));
    assert_eq!(gunzip(&r.body), csv.body);
}

#[actix_rt::test]
async fn cors_for_listed_origins_and_public_reads() {
    let origin = "https://app.example.org";
    let (test_db, pool) = seeded();
    let state = AppState::new(pool.clone(), &test_db.url)
        .unwrap()
        .with_cors(CorsPolicy::parse(&format!("{origin}, http://localhost:5173")).unwrap());
    let app = test::init_service(build_app(state)).await;
    // A preflight for a keyed, conditional write.
    let preflight = |from: &str, method: &str| {
        test::TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/v1/institutes/mila")
            .insert_header(("Origin", from.to_string()))
            .insert_header(("Access-Control-Request-Method", method.to_string()))
            .insert_header((
                "Access-Control-Request-Headers",
                "authorization, if-match, content-type, x-request-id",
            ))
    };
    let r = send(&app, preflight(origin, "PATCH")).await;
    assert!(r.status.is_success(), "{}", r.status);
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some(origin)
    );
    let methods = r.header("access-control-allow-methods").unwrap();
    for m in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    let headers = r
        .header("access-control-allow-headers")
        .unwrap()
        .to_lowercase();
    for h in [
        "authorization",
        "if-match",
        "if-none-match",
        "content-type",
        "x-request-id",
    ] {
        assert!(headers.contains(h), "{headers}");
    }
    assert!(r.header("access-control-allow-credentials").is_none());
    assert!(r.header("access-control-max-age").is_some());
    // A read from the origin: its script may read the headers it needs.
    let r = send(
        &app,
        test::TestRequest::get()
            .uri("/v1/institutes?limit=1")
            .insert_header(("Origin", origin)),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some(origin)
    );
    let exposed = r
        .header("access-control-expose-headers")
        .unwrap()
        .to_lowercase();
    for h in [
        "etag",
        "link",
        "ratelimit-remaining",
        "retry-after",
        "registry-sequence",
        "x-request-id",
    ] {
        assert!(exposed.contains(h), "{exposed}");
    }
    let vary = r
        .headers
        .get_all("vary")
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join(",");
    assert!(vary.contains("Origin"), "{vary}");
    // Another origin gets no grant.
    let r = send(
        &app,
        test::TestRequest::get()
            .uri("/v1/institutes?limit=1")
            .insert_header(("Origin", "https://evil.example")),
    )
    .await;
    assert!(r.header("access-control-allow-origin").is_none());
    let r = send(&app, preflight("https://evil.example", "PATCH")).await;
    assert!(r.header("access-control-allow-origin").is_none());

    // `*`: anyone may read, nobody may write across origins, and never with credentials.
    let state = AppState::new(pool, &test_db.url)
        .unwrap()
        .with_cors(CorsPolicy::parse("*").unwrap());
    let public = test::init_service(build_app(state)).await;
    let r = send(
        &public,
        test::TestRequest::get()
            .uri("/v1/sectors")
            .insert_header(("Origin", "https://anyone.example")),
    )
    .await;
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    assert!(r.header("access-control-allow-credentials").is_none());
    let r = send(&public, preflight("https://anyone.example", "GET")).await;
    assert!(r.status.is_success());
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    let r = send(&public, preflight("https://anyone.example", "PATCH")).await;
    let methods = r.header("access-control-allow-methods").unwrap_or_default();
    assert!(
        !r.status.is_success() || !methods.contains("PATCH"),
        "{} {methods}",
        r.status
    );

    // Without CORS_ORIGINS: no grant at all.
    let (_db, _pool, closed) = crate::common::app().await;
    let r = send(
        &closed,
        test::TestRequest::get()
            .uri("/v1/sectors")
            .insert_header(("Origin", origin)),
    )
    .await;
    assert!(r.header("access-control-allow-origin").is_none());
}

#[actix_rt::test]
async fn cors_origins_are_checked() {
    assert_eq!(CorsPolicy::parse("").unwrap(), CorsPolicy::Closed);
    assert_eq!(CorsPolicy::parse(" * ").unwrap(), CorsPolicy::PublicReads);
    assert_eq!(
        CorsPolicy::parse("https://A.example:8443, http://localhost:3000").unwrap(),
        CorsPolicy::Origins(vec![
            "https://a.example:8443".into(),
            "http://localhost:3000".into()
        ])
    );
    for bad in [
        "*, https://a.example",
        "a.example",
        "https://a.example/app",
        "ftp://a.example",
        "https://a.example?x=1",
    ] {
        assert!(CorsPolicy::parse(bad).is_err(), "{bad}");
    }
}

/// The body of a raw response as a problem document, with its id checked against the
/// `X-Request-Id` header.
fn raw_problem(response: &str, status: u16) -> serde_json::Value {
    assert!(
        response.starts_with(&format!("HTTP/1.1 {status} ")),
        "{}",
        &response[..response.len().min(300)]
    );
    assert_eq!(
        header_of(response, "content-type"),
        Some("application/problem+json")
    );
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    let problem: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(problem["status"], status);
    let id = problem["request_id"]
        .as_str()
        .expect("request_id")
        .to_string();
    assert_eq!(header_of(response, "x-request-id"), Some(id.as_str()));
    problem
}

#[actix_rt::test]
async fn what_the_parser_refuses_is_answered_with_a_problem() {
    let (test_db, pool) = seeded();
    let addr = serve_with(
        AppState::new(pool, &test_db.url).unwrap(),
        Transport {
            client_request_timeout: std::time::Duration::from_secs(1),
            ..Transport::default()
        },
    );
    // Too many header fields, and a head too long.
    let many: String = (0..100).map(|i| format!("X-Field-{i}: {i}\r\n")).collect();
    let long = format!("X-Long: {}\r\n", "a".repeat(140_000));
    for extra in [many, long] {
        let response = raw(
            addr,
            format!("GET /v1/institutes HTTP/1.1\r\nHost: x\r\n{extra}\r\n"),
        )
        .await;
        let problem = raw_problem(&response, 431);
        assert_eq!(problem["type"], "/problems/request-head-too-large");
        assert_eq!(header_of(&response, "connection"), Some("close"));
    }
    // A client still sending a head far too large when the server refuses it can send the
    // rest and read the answer: the server reads on for a moment before closing, instead of
    // resetting the connection (which fails the client's write, and can lose the answer).
    let head = format!(
        "GET /v1/institutes HTTP/1.1\r\nHost: x\r\nX-Long: {}",
        "a".repeat(200_000)
    );
    let (sent, response) = raw_in_parts(
        addr,
        vec![head.into_bytes(), vec![b'a'; 1000]],
        std::time::Duration::from_millis(300),
    )
    .await;
    sent.expect("the rest of the head is taken");
    raw_problem(&response, 431);
    // Bytes that are not HTTP.
    let response = raw(addr, b"\x00\x01\x02 garbage\r\n\r\n".to_vec()).await;
    let problem = raw_problem(&response, 400);
    assert_eq!(problem["type"], "/problems/invalid-request");
    // After an answer on the same connection, which is left whole.
    let response = raw(
        addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP AT ALL\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    let second = response.find("{\"status\":\"ok\"").unwrap();
    let rest = &response[second..];
    let rest = &rest[rest.find("HTTP/1.1").unwrap()..];
    raw_problem(rest, 400);
    // A head that does not arrive within the client request timeout.
    let response = raw(addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
    let problem = raw_problem(&response, 408);
    assert_eq!(problem["type"], "/problems/request-timeout");
    // Counted, and readable as a request on the next connection.
    let response = raw(
        addr,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    for (reason, n) in [
        ("head_too_large", 3),
        ("unreadable", 2),
        ("head_timeout", 1),
    ] {
        let line = format!("http_requests_rejected_total{{reason=\"{reason}\"}} {n}\n");
        assert!(response.contains(&line), "{line}");
    }
}
