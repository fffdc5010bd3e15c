//! The read model answers as the database would: lists (items, order, `total`, cursors) and
//! stats groups compared with a plain SQL evaluation of the same filter and sort, over random
//! queries on a few thousand generated institutes, before and after random writes through the
//! API, on the backend under test.

use crate::common::*;
use actix_web::test;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use institute_registry::api::{build_app, AppState};
use institute_registry::db::{Backend, DbConnection};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::BTreeMap;

const GENERATED: usize = 2_500;
const QUERIES: usize = 40;

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName)]
struct GroupRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = BigInt)]
    headcounts: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    headcount_total: Option<i64>,
}

/// One random list query: its URL parameters and the same filter as SQL.
struct Query {
    params: Vec<(String, String)>,
    sql_filter: Vec<String>,
    order: Vec<(&'static str, bool)>,
}

fn quote(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{}'", v.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(",")
}

fn random_query(rng: &mut StdRng, countries: &[String], sectors: &[String]) -> Query {
    let mut q = Query {
        params: Vec::new(),
        sql_filter: Vec::new(),
        order: Vec::new(),
    };
    let pick = |rng: &mut StdRng, from: &[String], n: usize| -> Vec<String> {
        from.choose_multiple(rng, n).cloned().collect()
    };
    match rng.random_range(0..4) {
        0 => q.sql_filter.push("status = 'active'".into()),
        1 => {
            q.params.push(("status".into(), "all".into()));
        }
        _ => {
            let s = ["active", "inactive", "withdrawn"][rng.random_range(0..3)];
            q.params.push(("status".into(), s.into()));
            q.sql_filter.push(format!("status = '{s}'"));
        }
    }
    if rng.random_bool(0.5) {
        let n = rng.random_range(1..4);
        let c = pick(rng, countries, n);
        let refs: Vec<&str> = c.iter().map(String::as_str).collect();
        q.params.push(("country".into(), c.join(",")));
        q.sql_filter.push(format!("country IN ({})", quote(&refs)));
    }
    if rng.random_bool(0.4) {
        let n = rng.random_range(1..3);
        let s = pick(rng, sectors, n);
        let refs: Vec<&str> = s.iter().map(String::as_str).collect();
        q.params.push(("sector".into(), s.join(",")));
        q.sql_filter.push(format!(
            "EXISTS (SELECT 1 FROM institute_sectors s WHERE s.institute_id = i.id AND s.sector IN ({}))",
            quote(&refs)
        ));
    }
    if rng.random_bool(0.3) {
        let k = [
            "government",
            "public_research",
            "university",
            "non_profit",
            "consortium",
            "company",
        ];
        let n = rng.random_range(1..3);
        let kinds: Vec<&str> = k.choose_multiple(rng, n).copied().collect();
        q.params.push(("kind".into(), kinds.join(",")));
        q.sql_filter.push(format!("kind IN ({})", quote(&kinds)));
    }
    if rng.random_bool(0.3) {
        let from = rng.random_range(1900..2020);
        q.params.push(("founded_from".into(), from.to_string()));
        q.sql_filter.push(format!("founded >= {from}"));
    }
    if rng.random_bool(0.3) {
        let min = rng.random_range(0..800);
        q.params.push(("headcount_min".into(), min.to_string()));
        q.sql_filter.push(format!("headcount >= {min}"));
    }
    if rng.random_bool(0.3) {
        let max = rng.random_range(1..200) * 1_000_000;
        q.params.push(("budget_max".into(), max.to_string()));
        q.sql_filter.push(format!("comparable_budget_usd <= {max}"));
    }
    let fields = [
        ("name", "sort_name"),
        ("founded", "founded"),
        ("budget", "comparable_budget_usd"),
        ("headcount", "headcount"),
    ];
    let keys = rng.random_range(0..3);
    let mut sort = Vec::new();
    for (name, column) in fields.choose_multiple(rng, keys) {
        let descending = rng.random_bool(0.5);
        sort.push(format!("{}{name}", if descending { "-" } else { "" }));
        q.order.push((column, descending));
    }
    if sort.is_empty() {
        q.order.push(("sort_name", false));
    } else {
        q.params.push(("sort".into(), sort.join(",")));
    }
    q
}

fn where_clause(filter: &[String]) -> String {
    if filter.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filter.join(" AND "))
    }
}

/// The ids SQL gives for a query, in its order: each key with missing values last in either
/// direction, then the id; names compare byte by byte.
fn sql_ids(conn: &mut DbConnection, backend: Backend, q: &Query) -> Vec<String> {
    let order: Vec<String> = q
        .order
        .iter()
        .map(|(column, descending)| {
            let column = match (*column, backend) {
                ("sort_name", Backend::Postgres) => "sort_name COLLATE \"C\"".to_string(),
                (c, _) => c.to_string(),
            };
            let direction = if *descending { "DESC" } else { "ASC" };
            format!("({column} IS NULL), {column} {direction}")
        })
        .collect();
    let id = match backend {
        Backend::Postgres => "id COLLATE \"C\"",
        Backend::Sqlite => "id",
    };
    let sql = format!(
        "SELECT id FROM institutes i {} ORDER BY {}, {id}",
        where_clause(&q.sql_filter),
        order.join(", ")
    );
    diesel::sql_query(sql)
        .load::<Id>(conn)
        .expect("the SQL evaluation runs")
        .into_iter()
        .map(|r| r.id)
        .collect()
}

fn sql_groups(conn: &mut DbConnection, q: &Query) -> BTreeMap<String, (i64, i64, Option<i64>)> {
    let sql = format!(
        "SELECT country AS key, COUNT(*) AS count, COUNT(headcount) AS headcounts, \
         CAST(SUM(headcount) AS BIGINT) AS headcount_total FROM institutes i {} GROUP BY country",
        where_clause(&q.sql_filter)
    );
    diesel::sql_query(sql)
        .load::<GroupRow>(conn)
        .expect("the SQL grouping runs")
        .into_iter()
        .map(|g| (g.key, (g.count, g.headcounts, g.headcount_total)))
        .collect()
}

fn url(base: &str, params: &[(String, String)]) -> String {
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{base}?{}", query.join("&"))
}

async fn compare_all<S, B>(
    app: &S,
    conn: &mut DbConnection,
    backend: Backend,
    rng: &mut StdRng,
    countries: &[String],
    sectors: &[String],
    round: &str,
) where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    for n in 0..QUERIES {
        let q = random_query(rng, countries, sectors);
        let expected = sql_ids(conn, backend, &q);
        let limit = rng.random_range(7..60);
        let base = url("/v1/institutes", &q.params);
        let first = get_ok(app, &format!("{base}&limit={limit}")).await;
        assert_eq!(
            first["total"].as_u64(),
            Some(expected.len() as u64),
            "{round} query {n}: total of {base}"
        );
        let got: Vec<String> = walk(app, &base, limit)
            .await
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            got, expected,
            "{round} query {n}: items and order of {base}"
        );

        let mut stats_params: Vec<(String, String)> = q
            .params
            .iter()
            .filter(|(k, _)| k != "sort")
            .cloned()
            .collect();
        stats_params.push(("group_by".into(), "country".into()));
        let stats = get_ok(app, &url("/v1/stats", &stats_params)).await;
        let got: BTreeMap<String, (i64, i64, Option<i64>)> = stats["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["key"].as_str().unwrap().to_string(),
                    (
                        g["count"].as_i64().unwrap(),
                        g["headcount"]["known"].as_i64().unwrap(),
                        g["headcount"]["total"].as_i64(),
                    ),
                )
            })
            .collect();
        assert_eq!(
            got,
            sql_groups(conn, &q),
            "{round} query {n}: stats of {base}"
        );
    }
}

#[actix_web::test]
async fn lists_and_stats_agree_with_sql_before_and_after_writes() {
    let (test_db, pool) = seeded();
    let backend = test_db.backend();
    let mut conn = pool.get().unwrap();
    institute_registry::store::generate::generate(&mut conn, GENERATED, 11, &|_, _| {})
        .expect("generate");
    let state = AppState::new(pool.clone(), &test_db.url).expect("the app state");
    let app = test::init_service(build_app(state)).await;
    let key = key(&pool, "property", "editor");

    let countries: Vec<String> = get_ok(&app, "/v1/countries").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["institutes"].as_i64() > Some(0))
        .map(|c| c["code"].as_str().unwrap().to_string())
        .collect();
    let sectors: Vec<String> = get_ok(&app, "/v1/sectors").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slug"].as_str().unwrap().to_string())
        .collect();
    let mut rng = StdRng::seed_from_u64(20261204);
    compare_all(
        &app, &mut conn, backend, &mut rng, &countries, &sectors, "before",
    )
    .await;

    // Random writes through the API: countries, sectors, founding years, statuses, figures,
    // deletions.
    let all = walk(&app, "/v1/institutes?status=all", 100).await;
    for (n, inst) in all.choose_multiple(&mut rng, 60).enumerate() {
        let id = inst["id"].as_str().unwrap();
        let etag = get(&app, &format!("/v1/institutes/{id}"))
            .await
            .header("etag")
            .unwrap();
        match n % 4 {
            0 | 1 => {
                let country = countries.choose(&mut rng).unwrap().clone();
                let chosen: Vec<String> = sectors.choose_multiple(&mut rng, 2).cloned().collect();
                let founded: i32 = rng.random_range(1950..2020);
                let status = if n % 2 == 0 { "active" } else { "inactive" };
                let body = json!({
                    "country": country,
                    "sectors": chosen,
                    "founded": founded,
                    "status": status,
                });
                let reply = patch_json(
                    &app,
                    &format!("/v1/institutes/{id}"),
                    &key,
                    body,
                    Some(&etag),
                )
                .await;
                assert_eq!(
                    reply.status,
                    200,
                    "{}",
                    String::from_utf8_lossy(&reply.body)
                );
            }
            2 => {
                let year = 1990 + (n as i64 % 20);
                let researchers: i64 = rng.random_range(1..5000);
                let body = json!({"year": year, "researchers": researchers,
                                  "basis": "researchers", "source": "https://example.org/count"});
                let reply =
                    post_json(&app, &format!("/v1/institutes/{id}/headcounts"), &key, body).await;
                assert!(
                    reply.status == 201 || reply.status == 409,
                    "{}",
                    String::from_utf8_lossy(&reply.body)
                );
            }
            _ => {
                let reply = send(
                    &app,
                    test::TestRequest::delete()
                        .uri(&format!("/v1/institutes/{id}"))
                        .insert_header(("Authorization", format!("Bearer {key}")))
                        .insert_header(("If-Match", etag)),
                )
                .await;
                // An institute with children is not deleted (409); either way nothing half-done.
                assert!(
                    reply.status == 204 || reply.status == 409,
                    "{}",
                    String::from_utf8_lossy(&reply.body)
                );
            }
        }
    }
    compare_all(
        &app, &mut conn, backend, &mut rng, &countries, &sectors, "after",
    )
    .await;
}
