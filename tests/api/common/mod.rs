//! Test support: a fresh database per test (SQLite by default; PostgreSQL when
//! `TEST_DATABASE_URL` is set, one new database per test), the app in-process, and helpers
//! that speak HTTP to it the way a client does.
#![allow(dead_code)]

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use institute_registry::api::{build_app, AppState};
use institute_registry::db::{self, Backend, Pool};
use institute_registry::store::seed::{seed_if_new, Dataset};
use serde_json::Value;

/// A database that exists for one test and is removed afterwards.
pub struct TestDb {
    pub url: String,
    admin_url: Option<String>,
    name: String,
}

impl TestDb {
    pub fn new() -> TestDb {
        let unique = format!(
            "t{}_{}",
            std::process::id(),
            uuid::Uuid::new_v4()
                .simple()
                .to_string()
                .get(..12)
                .unwrap_or_default()
        );
        match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let mut admin = diesel::PgConnection::establish(&admin_url)
                    .expect("TEST_DATABASE_URL must point at a reachable PostgreSQL database");
                admin
                    .batch_execute(&format!("CREATE DATABASE {unique}"))
                    .expect("create test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_string())
                    .expect("TEST_DATABASE_URL has a database name");
                TestDb {
                    url: format!("{base}/{unique}"),
                    admin_url: Some(admin_url),
                    name: unique,
                }
            }
            _ => {
                let path = std::env::temp_dir().join(format!("institute-registry-{unique}.db"));
                TestDb {
                    url: path.to_string_lossy().into_owned(),
                    admin_url: None,
                    name: unique,
                }
            }
        }
    }

    pub fn backend(&self) -> Backend {
        Backend::from_url(&self.url)
    }

    /// A pool on this database, migrated (not seeded).
    pub fn pool(&self, size: u32) -> Pool {
        db::connect(&self.url, size).expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.admin_url {
            Some(admin_url) => {
                if let Ok(mut admin) = diesel::PgConnection::establish(admin_url) {
                    let _ = admin.batch_execute(&format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        self.name
                    ));
                }
            }
            None => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", self.url));
                }
            }
        }
    }
}

/// A migrated and seeded database with its pool.
pub fn seeded() -> (TestDb, Pool) {
    let test_db = TestDb::new();
    let pool = test_db.pool(4);
    let data = Dataset::embedded().expect("the embedded dataset parses");
    seed_if_new(&mut pool.get().unwrap(), &data).expect("seed");
    (test_db, pool)
}

/// The app in-process on a fresh seeded database.
pub async fn app() -> (
    TestDb,
    Pool,
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
) {
    let (test_db, pool) = seeded();
    let state = AppState::new(pool.clone(), &test_db.url).expect("the app state");
    let service = test::init_service(build_app(state)).await;
    (test_db, pool, service)
}

/// A response as a client sees it.
pub struct Reply {
    pub status: StatusCode,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or_default().to_string())
    }

    /// Asserts an RFC 9457 problem with this status, returning it.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json")
        );
        let p = self.json();
        assert_eq!(p["status"], status);
        assert!(p["type"].is_string() && p["title"].is_string() && p["detail"].is_string());
        assert!(p["errors"].is_array());
        p
    }

    /// The `field`s of a problem's errors.
    pub fn fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub async fn send<S, B>(app: &S, req: test::TestRequest) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req.to_request()).await;
    let status = res.status();
    let headers = res.headers().clone();
    let body = test::read_body(res).await.to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get<S, B>(app: &S, uri: &str) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    send(app, test::TestRequest::get().uri(uri)).await
}

/// GET that must answer 200 with JSON.
pub async fn get_ok<S, B>(app: &S, uri: &str) -> Value
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let reply = get(app, uri).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "GET {uri}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

/// A new API key of this role on the test database.
pub fn key(pool: &Pool, name: &str, role: &str) -> String {
    let role = institute_registry::model::access::Role::parse(role).expect("a role");
    institute_registry::store::keys::create(&mut pool.get().unwrap(), name, role).expect("key")
}

/// A request with an optional key, JSON body (sent with `content_type`) and `If-Match`.
pub fn write(
    method: actix_web::http::Method,
    uri: &str,
    key: Option<&str>,
    body: Option<&Value>,
    content_type: &str,
    if_match: Option<&str>,
) -> test::TestRequest {
    let mut req = test::TestRequest::default().method(method).uri(uri);
    if let Some(k) = key {
        req = req.insert_header(("Authorization", format!("Bearer {k}")));
    }
    if let Some(tag) = if_match {
        req = req.insert_header(("If-Match", tag.to_string()));
    }
    if let Some(b) = body {
        req = req
            .insert_header(("Content-Type", content_type.to_string()))
            .set_payload(serde_json::to_vec(b).unwrap());
    }
    req
}

pub async fn post_json<S, B>(app: &S, uri: &str, key: &str, body: Value) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    send(
        app,
        write(
            actix_web::http::Method::POST,
            uri,
            Some(key),
            Some(&body),
            "application/json",
            None,
        ),
    )
    .await
}

pub async fn patch_json<S, B>(
    app: &S,
    uri: &str,
    key: &str,
    body: Value,
    if_match: Option<&str>,
) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    send(
        app,
        write(
            actix_web::http::Method::PATCH,
            uri,
            Some(key),
            Some(&body),
            "application/merge-patch+json",
            if_match,
        ),
    )
    .await
}

/// Every item of a list, following cursors.
pub async fn walk<S, B>(app: &S, base: &str, limit: usize) -> Vec<Value>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut uri = format!("{base}{sep}limit={limit}");
    let mut out = Vec::new();
    loop {
        let page = get_ok(app, &uri).await;
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("{base}{sep}limit={limit}&cursor={c}"),
            None => return out,
        }
    }
}

/// Waits until the app's read model reflects every committed change (writes made beside the
/// app, straight through the store, reach it through its follower).
pub async fn settle<S, B>(app: &S) -> i64
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let head: i64 = get(app, "/v1/changes?limit=1")
        .await
        .header("registry-sequence")
        .expect("the head of the sequence")
        .parse()
        .unwrap();
    get_ok(app, &format!("/v1/institutes?limit=1&min_sequence={head}")).await;
    head
}

/// `DELETE uri` with `key` and `If-Match: *`.
pub async fn delete<S, B>(app: &S, uri: &str, key: &str) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    send(
        app,
        write(
            actix_web::http::Method::DELETE,
            uri,
            Some(key),
            None,
            "",
            Some("*"),
        ),
    )
    .await
}
