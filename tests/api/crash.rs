//! The real server process, killed: SIGKILL in the middle of concurrent writes and of an
//! import loses nothing acknowledged and leaves nothing half-applied; SIGTERM drains.

use crate::common::*;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use institute_registry::db::schema::institutes;
use institute_registry::db::{Backend, DbConnection};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_institute-registry");

/// A server process on its own port.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(url: &str) -> Server {
        Server::start_with(url, &["serve"])
    }

    /// A server started with `args` between the database and `--bind`.
    fn start_with(url: &str, args: &[&str]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(BIN)
            .args(["--database-url", url])
            .args(args)
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .env("RATE_LIMIT", "0")
            .env("POOL_SIZE", "8")
            .env("DRAIN_SECONDS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        let server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok((200, _, _)) = server.call("GET", "/readyz", None, None, None) {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not become ready");
    }

    /// One request on a new connection: (status, headers, body).
    fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        if_match: Option<&str>,
        body: Option<&Value>,
    ) -> std::io::Result<(u16, HashMap<String, String>, Vec<u8>)> {
        http(self.port, method, path, key, if_match, body)
    }

    fn json(&self, path: &str) -> (u16, Value) {
        let (status, _, body) = self.call("GET", path, None, None, None).expect("GET");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{name}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http(
    port: u16,
    method: &str,
    path: &str,
    key: Option<&str>,
    if_match: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<(u16, HashMap<String, String>, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(k) = key {
        head.push_str(&format!("Authorization: Bearer {k}\r\n"));
    }
    if let Some(tag) = if_match {
        head.push_str(&format!("If-Match: {tag}\r\n"));
    }
    if body.is_some() {
        let kind = if method == "PATCH" {
            "application/merge-patch+json"
        } else {
            "application/json"
        };
        head.push_str(&format!(
            "Content-Type: {kind}\r\nContent-Length: {}\r\n",
            payload.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(payload.as_bytes())?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line: {status_line:?}")))?;
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let mut body = Vec::new();
    match headers
        .get("content-length")
        .and_then(|l| l.parse::<usize>().ok())
    {
        Some(n) => {
            body.resize(n, 0);
            reader.read_exact(&mut body)?;
        }
        None => {
            reader.read_to_end(&mut body)?;
        }
    }
    Ok((status, headers, body))
}

/// What the clients were told had happened.
#[derive(Default)]
struct Acknowledged {
    /// Created institutes, by slug.
    created: Vec<String>,
    /// The last acknowledged city and version of patched institutes, by slug.
    patched: HashMap<String, (String, i64)>,
    /// Every slug a client tried to create.
    attempted: Vec<String>,
}

/// Concurrent writers: each creates institutes (a row, two sector links and a history entry
/// in one transaction) and patches the ones it created, with `If-Match`.
fn writers(
    port: u16,
    key: String,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Acknowledged>>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..4)
        .map(|w| {
            let (key, stop, acked) = (key.clone(), stop.clone(), acked.clone());
            std::thread::spawn(move || {
                let mut mine: Vec<(String, String)> = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    if n % 3 == 0 && !mine.is_empty() {
                        let (slug, etag) = mine[n % mine.len()].clone();
                        let city = format!("City {w}-{n}");
                        let reply = http(
                            port,
                            "PATCH",
                            &format!("/v1/institutes/{slug}"),
                            Some(&key),
                            Some(&etag),
                            Some(&json!({"city": city})),
                        );
                        if let Ok((200, headers, body)) = reply {
                            let v: Value = serde_json::from_slice(&body).unwrap();
                            let version = v["version"].as_i64().unwrap();
                            acked
                                .lock()
                                .unwrap()
                                .patched
                                .insert(slug.clone(), (city, version));
                            let i = n % mine.len();
                            mine[i].1 = headers["etag"].clone();
                        }
                        continue;
                    }
                    let slug = format!("crash-w{w}-{n}");
                    acked.lock().unwrap().attempted.push(slug.clone());
                    let reply = http(
                        port,
                        "POST",
                        "/v1/institutes",
                        Some(&key),
                        None,
                        Some(&json!({"slug": slug, "name": format!("Crash test {w} {n}"),
                                     "kind": "non_profit", "country": "NL",
                                     "sectors": ["robotics", "healthcare"]})),
                    );
                    if let Ok((201, headers, _)) = reply {
                        acked.lock().unwrap().created.push(slug.clone());
                        mine.push((slug, headers["etag"].clone()));
                    }
                }
            })
        })
        .collect()
}

/// The database's own integrity checks: SQLite's `integrity_check`, `foreign_key_check` and
/// the full-text index's check; PostgreSQL's `amcheck` over every B-tree index and heap.
fn integrity(conn: &mut DbConnection) {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = Text)]
        line: String,
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    match conn.backend() {
        Backend::Sqlite => {
            let lines: Vec<Line> =
                diesel::sql_query("SELECT integrity_check AS line FROM pragma_integrity_check")
                    .load(conn)
                    .unwrap();
            assert_eq!(
                lines.iter().map(|l| l.line.as_str()).collect::<Vec<_>>(),
                ["ok"]
            );
            let broken: Count =
                diesel::sql_query("SELECT COUNT(*) AS n FROM pragma_foreign_key_check")
                    .get_result(conn)
                    .unwrap();
            assert_eq!(broken.n, 0, "foreign keys");
            // Every institute's stored document was written in its write's transaction.
            let unrendered: Count = diesel::sql_query(
                "SELECT COUNT(*) AS n FROM institutes WHERE document = '' OR etag = ''",
            )
            .get_result(conn)
            .unwrap();
            assert_eq!(unrendered.n, 0, "institutes without their stored document");
        }
        Backend::Postgres => {
            conn.batch_execute("CREATE EXTENSION IF NOT EXISTS amcheck")
                .expect("amcheck (part of PostgreSQL's contrib modules)");
            let checked: Count = diesel::sql_query(
                "SELECT COUNT(bt_index_check(c.oid, true))::BIGINT AS n FROM pg_index i \
                 JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam \
                 WHERE a.amname = 'btree' AND c.relnamespace = 'public'::regnamespace",
            )
            .get_result(conn)
            .unwrap();
            assert!(checked.n > 10, "{} indexes checked", checked.n);
            let corrupt: Count = diesel::sql_query(
                "SELECT COUNT(*) AS n FROM pg_class c, LATERAL verify_heapam(c.oid) \
                 WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace",
            )
            .get_result(conn)
            .unwrap();
            assert_eq!(corrupt.n, 0, "heap corruption");
        }
    }
}

fn import_file(records: usize) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "registry-crash-{}-{}.ndjson",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..records {
        let record = json!({"slug": format!("imported-{i}"), "name": format!("Imported {i}"),
                            "kind": "university", "country": "SE", "sectors": ["science"],
                            "headcounts": [{"year": 2024, "researchers": i % 500 + 1,
                                            "basis": "researchers", "source": "test"}]});
        writeln!(out, "{record}").unwrap();
    }
    out.flush().unwrap();
    path
}

#[test]
fn sigkill_during_writes_and_an_import_loses_nothing_acknowledged() {
    let (db, pool) = seeded();
    let key = key(&pool, "crash-writer", "editor");
    let file = import_file(20_000);
    let server = Server::start(&db.url);
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let threads = writers(server.port, key.clone(), stop.clone(), acked.clone());
    std::thread::sleep(Duration::from_millis(1500));

    // An import alongside, killed once it is writing.
    let mut import = Command::new(BIN)
        .args(["--database-url", &db.url, "import"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let progress = BufReader::new(import.stderr.take().unwrap());
    for line in progress.lines() {
        let line = line.unwrap();
        if line.starts_with("import: importing") {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let _ = import.kill();
    server.signal("KILL");
    stop.store(true, Ordering::Relaxed);
    let status = import.wait().unwrap();
    assert!(
        !status.success(),
        "the import finished before it was killed"
    );
    for t in threads {
        t.join().unwrap();
    }
    drop(server);
    let _ = std::fs::remove_file(&file);

    let acked = Arc::try_unwrap(acked).ok().unwrap().into_inner().unwrap();
    assert!(
        acked.created.len() >= 5,
        "only {} writes were acknowledged before the kill",
        acked.created.len()
    );

    let mut conn = pool.get().unwrap();
    integrity(&mut conn);
    let imported: i64 = institutes::table
        .filter(institutes::slug.like("imported-%"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert!(
        imported == 0 || imported == 20_000,
        "a killed import left {imported} of its 20,000 records"
    );
    drop(conn);
    eprintln!(
        "killed: {} creates attempted, {} acknowledged, {} institutes patched; the import had \
         written {imported} of 20000",
        acked.attempted.len(),
        acked.created.len(),
        acked.patched.len()
    );

    let server = Server::start(&db.url);
    for slug in &acked.created {
        let (status, v) = server.json(&format!("/v1/institutes/{slug}"));
        assert_eq!(status, 200, "acknowledged {slug} is lost");
        if let Some((city, version)) = acked.patched.get(slug) {
            assert_eq!(
                v["city"],
                json!(city),
                "{slug}: an acknowledged update is lost"
            );
            assert_eq!(v["version"], json!(version), "{slug}");
        }
    }
    // Every attempted create is all there or not there at all.
    for slug in &acked.attempted {
        let (status, v) = server.json(&format!("/v1/institutes/{slug}"));
        let (_, history) = server.json(&format!("/v1/institutes/{slug}/history"));
        match status {
            200 => {
                assert_eq!(v["sectors"], json!(["healthcare", "robotics"]), "{slug}");
                let creates = history["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["action"] == "create")
                    .count();
                assert_eq!(creates, 1, "{slug}: history {history}");
            }
            404 => assert!(!acked.created.contains(slug)),
            other => panic!("{slug}: {other}"),
        }
    }
    // And the registry still takes writes.
    let (status, _, _) = server
        .call(
            "POST",
            "/v1/institutes",
            Some(&key),
            None,
            Some(
                &json!({"slug": "after-the-crash", "name": "After the crash",
                         "kind": "non_profit", "country": "NL"}),
            ),
        )
        .unwrap();
    assert_eq!(status, 201);
}

#[test]
fn sigterm_finishes_in_flight_requests_and_refuses_new_ones() {
    let (db, pool) = seeded();
    let key = key(&pool, "drain-writer", "editor");
    let server = Server::start(&db.url);
    let port = server.port;

    // Hold the registry's write lock so that a write is in flight when the signal comes.
    let mut holder = pool.get().unwrap();
    holder.batch_execute("BEGIN").unwrap();
    institute_registry::store::write::lock(&mut holder).unwrap();
    let in_flight = std::thread::spawn(move || {
        http(
            port,
            "POST",
            "/v1/institutes",
            Some(&key),
            None,
            Some(
                &json!({"slug": "in-flight", "name": "In flight", "kind": "non_profit",
                         "country": "NL"}),
            ),
        )
    });
    std::thread::sleep(Duration::from_millis(500));
    server.signal("TERM");
    let signalled = Instant::now();
    std::thread::sleep(Duration::from_millis(200));
    // Draining (1 s here): not ready, still serving, and a kept-alive connection is closed
    // after its response.
    let (status, _, _) = http(port, "GET", "/readyz", None, None, None).unwrap();
    assert_eq!(status, 503);
    let mut kept = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    kept.write_all(b"GET /v1/sectors HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut reader = std::io::BufReader::new(kept);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim_end().is_empty() {
            break;
        }
        head.push_str(&line.to_ascii_lowercase());
    }
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(signalled.elapsed() < Duration::from_millis(900));
    std::thread::sleep(Duration::from_millis(1500));
    // Then new connections are refused (or closed unanswered) while the write finishes.
    let refused = http(port, "GET", "/healthz", None, None, None);
    assert!(
        refused.is_err(),
        "a request after SIGTERM was served: {refused:?}"
    );
    holder.batch_execute("COMMIT").unwrap();
    drop(holder);
    let (status, _, body) = in_flight
        .join()
        .unwrap()
        .expect("the in-flight write is answered");
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let mut server = server;
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "exit after SIGTERM: {exit:?}");

    let server = Server::start(&db.url);
    let (status, v) = server.json("/v1/institutes/in-flight");
    assert_eq!(status, 200);
    assert_eq!(v["name"], "In flight");
}

/// `serve` is the default command, so its flags work without it; `--no-seed` leaves the seed's
/// institutes and programmes out but loads the reference data, so that writes work at once.
#[test]
fn serve_flags_without_serve_and_no_seed_keeps_the_reference_data() {
    let db = TestDb::new();
    let server = Server::start_with(&db.url, &["--no-seed", "--rate-limit", "0"]);
    let (status, list) = server.json("/v1/institutes");
    assert_eq!((status, list["total"].as_i64()), (200, Some(0)), "{list}");
    let (status, programs) = server.json("/v1/programs");
    assert_eq!(
        (status, programs["total"].as_i64()),
        (200, Some(0)),
        "{programs}"
    );
    let (status, rates) = server.json("/v1/exchange-rates?currency=EUR");
    assert_eq!(status, 200);
    assert!(rates["total"].as_i64().unwrap() > 0, "{rates}");
    let pool = db.pool(1);
    let key = key(&pool, "no-seed-editor", "editor");
    let body = serde_json::json!({
        "name": "First Institute", "kind": "non_profit", "country": "CA", "sectors": ["healthcare"]
    });
    let (status, _, answer) = server
        .call("POST", "/v1/institutes", Some(&key), None, Some(&body))
        .unwrap();
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
}
