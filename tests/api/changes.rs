//! The change sequence (`/v1/changes`), the preconditions every write must state (428, 400,
//! 412 with the current ETag), and a copy that follows the registry with nothing but an export
//! and the sequence.

use crate::common::*;
use actix_web::http::Method;
use institute_registry::store::write::institutes as curation;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Every page of `/v1/changes` after `after`.
async fn changes_after<S, B>(app: &S, after: i64) -> (Vec<Value>, i64)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let mut items = Vec::new();
    let mut next = after;
    loop {
        let page = get_ok(app, &format!("/v1/changes?after={next}&limit=1000")).await;
        let batch = page["items"].as_array().unwrap().clone();
        next = page["next"].as_i64().unwrap();
        let head = page["head"].as_i64().unwrap();
        let done = batch.is_empty() || next == head;
        items.extend(batch);
        if done {
            return (items, next);
        }
    }
}

#[actix_rt::test]
async fn writes_without_if_match_get_428_and_malformed_ones_400() {
    let (_db, pool, app) = app().await;
    let editor = key(&pool, "editor", "editor");
    let admin = key(&pool, "admin", "admin");
    let turing = get(&app, "/v1/institutes/alan-turing-institute").await;
    let budget = get_ok(&app, "/v1/institutes/alan-turing-institute/budgets").await["items"][0]
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    let headcount = get_ok(&app, "/v1/institutes/alan-turing-institute/headcounts").await["items"]
        [0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"name": "X", "kind": "government", "country": "GB"});
    let figure = json!({"year": 2020, "kind": "annual", "amount": 1, "currency": "GBP",
                        "source": "https://example.org"});
    let count = json!({"year": 2020, "staff": 1, "basis": "staff", "source": "s"});
    let program = json!({"jurisdiction": "GB", "name": "P", "amount": 1, "currency": "GBP",
                         "announced": 2020, "source": "s"});
    let sector = json!({"name": "Health"});
    let t = "/v1/institutes/alan-turing-institute";
    let cases: Vec<(Method, String, Option<Value>, &str, &str)> = vec![
        (
            Method::PUT,
            t.into(),
            Some(body.clone()),
            "application/json",
            &editor,
        ),
        (
            Method::PATCH,
            t.into(),
            Some(json!({"city": "X"})),
            "application/merge-patch+json",
            &editor,
        ),
        (Method::DELETE, t.into(), None, "", &editor),
        (
            Method::PUT,
            format!("{t}/budgets/{budget}"),
            Some(figure),
            "application/json",
            &editor,
        ),
        (
            Method::DELETE,
            format!("{t}/budgets/{budget}"),
            None,
            "",
            &editor,
        ),
        (
            Method::PUT,
            format!("{t}/headcounts/{headcount}"),
            Some(count),
            "application/json",
            &editor,
        ),
        (
            Method::DELETE,
            format!("{t}/headcounts/{headcount}"),
            None,
            "",
            &editor,
        ),
        (
            Method::PUT,
            "/v1/programs/stargate-project".into(),
            Some(program),
            "application/json",
            &editor,
        ),
        (
            Method::DELETE,
            "/v1/programs/stargate-project".into(),
            None,
            "",
            &editor,
        ),
        (
            Method::PUT,
            "/v1/sectors/healthcare".into(),
            Some(sector),
            "application/json",
            &admin,
        ),
        (
            Method::DELETE,
            "/v1/sectors/healthcare".into(),
            None,
            "",
            &admin,
        ),
    ];
    for (method, uri, body, content_type, k) in &cases {
        let r = send(
            &app,
            write(
                method.clone(),
                uri,
                Some(k),
                body.as_ref(),
                content_type,
                None,
            ),
        )
        .await;
        let p = r.problem(428);
        assert_eq!(
            p["type"], "/problems/precondition-required",
            "{method} {uri}"
        );
        assert_eq!(r.fields(), vec!["If-Match"], "{method} {uri}");
        assert!(p["detail"].as_str().unwrap().contains("ETag"), "{p}");
        for bad in ["abc", "W/\"abc\"", "\"abc", ""] {
            let r = send(
                &app,
                write(
                    method.clone(),
                    uri,
                    Some(k),
                    body.as_ref(),
                    content_type,
                    Some(bad),
                ),
            )
            .await;
            r.problem(400);
            assert_eq!(
                r.fields(),
                vec!["If-Match"],
                "{method} {uri} If-Match: {bad}"
            );
        }
    }
    // Nothing changed.
    let after = get(&app, "/v1/institutes/alan-turing-institute").await;
    assert_eq!(after.body, turing.body);
}

#[actix_rt::test]
async fn a_stale_if_match_gets_412_with_the_current_etag() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "editor", "editor");
    let first = get(&app, "/v1/institutes/mila").await;
    let old = first.header("etag").unwrap();
    let changed = patch_json(
        &app,
        "/v1/institutes/mila",
        &k,
        json!({"city": "A"}),
        Some(&old),
    )
    .await;
    assert_eq!(changed.status, 200);
    let current = changed.header("etag").unwrap();
    let stale = patch_json(
        &app,
        "/v1/institutes/mila",
        &k,
        json!({"city": "B"}),
        Some(&old),
    )
    .await;
    stale.problem(412);
    assert_eq!(stale.header("etag").as_deref(), Some(current.as_str()));
    assert!(stale.json()["detail"].as_str().unwrap().contains(&current));
    // Retrying with the ETag the 412 gave goes through; a list of tags admits any of them.
    let list = format!("{old}, {current}");
    let retried = patch_json(
        &app,
        "/v1/institutes/mila",
        &k,
        json!({"city": "B"}),
        Some(&list),
    )
    .await;
    assert_eq!(retried.status, 200);
    assert_eq!(retried.json()["city"], "B");
    // Figures: the entry's ETag.
    let entry = post_json(
        &app,
        "/v1/institutes/mila/headcounts",
        &k,
        json!({"year": 2019, "staff": 10, "basis": "staff", "source": "s"}),
    )
    .await;
    assert_eq!(entry.status, 201);
    let location = entry.header("location").unwrap();
    let tag = entry.header("etag").unwrap();
    let body = json!({"year": 2019, "staff": 11, "basis": "staff", "source": "s"});
    let update = |if_match: &str| {
        write(
            Method::PUT,
            &location,
            Some(&k),
            Some(&body),
            "application/json",
            Some(if_match),
        )
    };
    let ok = send(&app, update(&tag)).await;
    assert_eq!(ok.status, 200);
    let stale = send(&app, update(&tag)).await;
    stale.problem(412);
    assert_eq!(stale.header("etag"), ok.header("etag"));
}

#[actix_rt::test]
async fn the_sequence_lists_every_change_in_order_with_tombstones_inline() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "editor", "editor");
    let admin = key(&pool, "admin", "admin");
    let (initial, head) = changes_after(&app, 0).await;
    // Following the sequence from 0 builds the registry: every seeded record was created.
    let institutes = initial
        .iter()
        .filter(|c| c["resource"] == "institute" && c["op"] == "created")
        .count();
    assert_eq!(
        institutes as i64,
        get_ok(&app, "/v1/institutes?status=all&limit=1").await["total"]
    );
    let seqs: Vec<i64> = initial.iter().map(|c| c["seq"].as_i64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "numbers follow each other"
    );
    assert_eq!(*seqs.last().unwrap(), head);
    assert!(initial.iter().any(|c| c["resource"] == "sector"));
    assert!(initial.iter().any(|c| c["resource"] == "exchange_rate"));
    assert!(initial.iter().any(|c| c["resource"] == "program"));

    // Beyond the head: an empty page that says where the head is.
    let beyond = get(&app, &format!("/v1/changes?after={}", head + 50)).await;
    let page = beyond.json();
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["head"], head);
    assert_eq!(page["next"], head + 50);
    assert_eq!(beyond.header("registry-sequence"), Some(head.to_string()));
    for bad in ["after=-1", "after=x", "limit=0", "limit=1001", "colour=red"] {
        get(&app, &format!("/v1/changes?{bad}")).await.problem(400);
    }

    // A create, an edit, a figure, a merge (children move), a deletion and a rate.
    let created = post_json(
        &app,
        "/v1/institutes",
        &k,
        json!({"name": "Feed Child", "kind": "non_profit", "country": "CA", "parent": "amii"}),
    )
    .await;
    assert_eq!(created.status, 201);
    let created_seq: i64 = created
        .header("registry-sequence")
        .unwrap()
        .parse()
        .unwrap();
    assert!(created_seq > head);
    let child = created.json();
    patch_json(
        &app,
        "/v1/institutes/feed-child",
        &k,
        json!({"city": "Edmonton"}),
        Some("*"),
    )
    .await;
    post_json(
        &app,
        "/v1/institutes/feed-child/headcounts",
        &k,
        json!({"year": 2024, "researchers": 5, "basis": "researchers", "source": "s"}),
    )
    .await;
    let amii = get_ok(&app, "/v1/institutes/amii").await;
    let merged = delete(&app, "/v1/institutes/amii?merged_into=mila", &k).await;
    assert_eq!(merged.status, 204);
    let kyutai = get_ok(&app, "/v1/institutes/kyutai").await;
    delete(&app, "/v1/institutes/kyutai", &k).await;
    let rate = send(
        &app,
        write(
            Method::PUT,
            "/v1/exchange-rates/KRW/2025",
            Some(&admin),
            Some(&json!({"units_per_usd": 1500.0, "source": "test"})),
            "application/json",
            None,
        ),
    )
    .await;
    assert!(rate.status.is_success());
    let (items, new_head) = changes_after(&app, head).await;
    assert_eq!(new_head, items.last().unwrap()["seq"].as_i64().unwrap());
    let of = |id: &Value| -> Vec<&Value> { items.iter().filter(|c| c["id"] == *id).collect() };
    let ops = |id: &Value| -> Vec<String> {
        of(id)
            .iter()
            .map(|c| c["op"].as_str().unwrap().to_string())
            .collect()
    };
    // The child: created, updated (city), updated (figure), updated (its parent merged away).
    assert_eq!(
        ops(&child["id"]),
        vec!["created", "updated", "updated", "updated"]
    );
    let now = get_ok(&app, "/v1/institutes/feed-child").await;
    for c in of(&child["id"]) {
        // Each change carries the record as it stands now.
        assert_eq!(c["record"], now);
    }
    assert_eq!(now["parent"]["slug"], "mila");
    let merge = of(&amii["id"]);
    assert_eq!(merge.last().unwrap()["op"], "merged");
    assert_eq!(
        merge.last().unwrap()["successor"],
        get_ok(&app, "/v1/institutes/mila").await["id"]
    );
    assert_eq!(merge.last().unwrap()["record"], Value::Null);
    assert_eq!(ops(&kyutai["id"]), vec!["deleted"]);
    assert_eq!(of(&kyutai["id"])[0]["slug"], "kyutai");
    let rate_change = items
        .iter()
        .find(|c| c["resource"] == "exchange_rate")
        .unwrap();
    assert_eq!(rate_change["id"], "KRW/2025");
    assert_eq!(rate_change["record"]["units_per_usd"], 1500.0);
    // The Turing's latest budget is in KRW for 2025: its document changed with the rate.
    let turing = get_ok(&app, "/v1/institutes/alan-turing-institute").await;
    let turing_changes = of(&turing["id"]);
    assert_eq!(turing_changes.len(), 1, "{items:?}");
    assert_eq!(turing_changes[0]["op"], "updated");
    assert!(turing_changes[0]["seq"].as_i64() > rate_change["seq"].as_i64());
    // Times follow the sequence.
    let times: Vec<&str> = items.iter().map(|c| c["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[actix_rt::test]
async fn exports_and_lists_state_the_sequence_they_reflect() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "editor", "editor");
    let head = get_ok(&app, "/v1/changes?after=0&limit=1").await["head"]
        .as_i64()
        .unwrap();
    for uri in [
        "/v1/institutes",
        "/v1/exports/institutes?format=ndjson",
        "/v1/exports/institutes?format=csv",
    ] {
        let r = get(&app, uri).await;
        assert_eq!(
            r.header("registry-sequence"),
            Some(head.to_string()),
            "{uri}"
        );
    }
    let r = patch_json(
        &app,
        "/v1/institutes/mila",
        &k,
        json!({"city": "M"}),
        Some("*"),
    )
    .await;
    assert_eq!(r.header("registry-sequence"), Some((head + 1).to_string()));
    let r = get(&app, "/v1/exports/institutes?format=ndjson").await;
    assert_eq!(r.header("registry-sequence"), Some((head + 1).to_string()));
}

/// A copy that knows only the export and `/v1/changes`, following the registry while it
/// changes: creates, edits, figures, merges, 20,000 deletions and an import of 5,000 records.
#[actix_rt::test]
async fn a_mirror_from_an_export_and_the_changes_equals_the_registry() {
    let (db, pool, app) = app().await;
    // A registry of some size, made before the mirror starts.
    institute_registry::store::generate::generate(&mut pool.get().unwrap(), 21_000, 3, &|_, _| {})
        .unwrap();
    settle(&app).await;

    // The mirror: an export, then the changes after the sequence it states.
    let export = get(&app, "/v1/exports/institutes?format=ndjson&status=all").await;
    assert_eq!(export.status, 200);
    let mut after: i64 = export.header("registry-sequence").unwrap().parse().unwrap();
    let mut mirror: HashMap<String, Value> = String::from_utf8(export.body)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_string(), v)
        })
        .collect();
    assert!(mirror.len() > 21_000);

    // Writers, alongside.
    let at_start = mirror.len();
    let mut ids: Vec<String> = mirror
        .keys()
        .filter(|id| id.starts_with("ins_syn"))
        .cloned()
        .collect();
    ids.sort();
    ids.truncate(20_000);
    let deleter = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            let mut conn = pool.get().unwrap();
            quick_commits(&mut conn);
            for (n, id) in ids.iter().enumerate() {
                // Every hundredth is a merge into another synthetic institute.
                let successor = (n % 100 == 0).then_some("ins_syn0000000020500");
                curation::delete(&mut conn, id, None, successor, "mirror-test").unwrap();
            }
        })
    };
    let importer = {
        let url = db.url.clone();
        std::thread::spawn(move || {
            let vocab = vocabulary(&url);
            let records: Vec<_> = (0..5_000)
                .map(|i| {
                    let value = json!({"slug": format!("mirror-import-{i}"),
                        "name": format!("Mirror Import {i}"), "kind": "university",
                        "country": "NO", "sectors": ["robotics"],
                        "parent": if i % 7 == 0 { Some("mila") } else { None },
                        "budgets": [{"year": 2023, "kind": "annual", "amount": 1000 + i,
                                     "currency": "NOK", "source": "test"}]});
                    Ok(Ok(
                        institute_registry::model::interchange::ImportRecord::read(
                            i + 1,
                            value,
                            &vocab,
                        )
                        .unwrap(),
                    ))
                })
                .collect();
            let pool = institute_registry::db::connect(&url, 1).unwrap();
            let mut conn = pool.get().unwrap();
            let outcome = institute_registry::store::write::import::import(
                &mut conn,
                records.into_iter(),
                Default::default(),
                "import",
                &|_, _| {},
            )
            .unwrap();
            assert_eq!(outcome.created, 5_000);
        })
    };
    let k = key(&pool, "mirror-editor", "editor");
    let mut polls = 0;
    let apply = |page: &Value, mirror: &mut HashMap<String, Value>| {
        for c in page["items"].as_array().unwrap() {
            if c["resource"] != "institute" {
                continue;
            }
            let id = c["id"].as_str().unwrap().to_string();
            match (&c["record"], c["op"].as_str().unwrap()) {
                (_, "deleted" | "merged") => {
                    mirror.remove(&id);
                }
                (Value::Null, _) => {} // gone since: a later change says so
                (record, _) => {
                    mirror.insert(id, record.clone());
                }
            }
        }
    };
    for round in 0.. {
        // Curation through the API meanwhile: creates, edits, figures, merges.
        if round < 30 {
            let slug = format!("mirror-new-{round}");
            let r = post_json(
                &app,
                "/v1/institutes",
                &k,
                json!({"name": format!("Mirror New {round}"), "slug": slug, "kind": "company",
                       "country": "SE", "parent": if round % 2 == 0 { "cifar" } else { "mila" }}),
            )
            .await;
            assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
            patch_json(
                &app,
                &format!("/v1/institutes/{slug}"),
                &k,
                json!({"city": format!("City {round}")}),
                Some("*"),
            )
            .await;
            post_json(
                &app,
                &format!("/v1/institutes/{slug}/budgets"),
                &k,
                json!({"year": 2024, "kind": "annual", "amount": round * 1000 + 1,
                       "currency": "SEK", "source": "test"}),
            )
            .await;
            if round % 10 == 9 {
                let r = send(
                    &app,
                    write(
                        Method::DELETE,
                        &format!(
                            "/v1/institutes/mirror-new-{}?merged_into=mirror-new-0",
                            round - 1
                        ),
                        Some(&k),
                        None,
                        "",
                        Some("*"),
                    ),
                )
                .await;
                assert_eq!(r.status, 204);
            }
            if round % 5 == 0 {
                patch_json(
                    &app,
                    "/v1/institutes/mila",
                    &k,
                    json!({"name": format!("Mila {round}")}),
                    Some("*"),
                )
                .await;
            }
        }
        let page = get_ok(&app, &format!("/v1/changes?after={after}&limit=1000")).await;
        apply(&page, &mut mirror);
        polls += 1;
        after = page["next"].as_i64().unwrap();
        let writers_done = deleter.is_finished() && importer.is_finished();
        if writers_done && round >= 30 && after == page["head"].as_i64().unwrap() {
            break;
        }
        if page["items"].as_array().unwrap().is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    deleter.join().unwrap();
    importer.join().unwrap();
    // Whatever came after the last poll.
    loop {
        let page = get_ok(&app, &format!("/v1/changes?after={after}&limit=1000")).await;
        apply(&page, &mut mirror);
        after = page["next"].as_i64().unwrap();
        if after == page["head"].as_i64().unwrap() {
            break;
        }
    }
    assert!(
        polls > 3,
        "the mirror polled while the registry changed ({polls} polls)"
    );

    // The copy equals the registry, record by record.
    let now = get(&app, "/v1/exports/institutes?format=ndjson&status=all").await;
    let registry: HashMap<String, Value> = String::from_utf8(now.body)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_string(), v)
        })
        .collect();
    let mut missing: Vec<&String> = registry
        .keys()
        .filter(|k| !mirror.contains_key(*k))
        .collect();
    let mut extra: Vec<&String> = mirror
        .keys()
        .filter(|k| !registry.contains_key(*k))
        .collect();
    missing.truncate(5);
    extra.truncate(5);
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    for (id, record) in &registry {
        assert_eq!(&mirror[id], record, "{id}");
    }
    // And each record as its own GET answers it.
    for id in registry
        .keys()
        .filter(|id| !id.starts_with("ins_syn"))
        .take(200)
    {
        assert_eq!(
            get_ok(&app, &format!("/v1/institutes/{id}")).await,
            mirror[id]
        );
    }
    // 20,000 deleted, 5,000 imported, 30 created of which 3 merged away.
    assert_eq!(registry.len(), at_start - 20_000 + 5_000 + 30 - 3);
}

/// Commits that do not wait for the disk: the deletions are many, and durability is not what
/// the test is about.
fn quick_commits(conn: &mut institute_registry::db::DbConnection) {
    use diesel::connection::SimpleConnection;
    if let institute_registry::db::DbConnection::Postgresql(c) = conn {
        c.batch_execute("SET synchronous_commit = off").unwrap();
    }
}

fn vocabulary(url: &str) -> institute_registry::model::input::Vocabulary {
    let pool = institute_registry::db::connect(url, 1).unwrap();
    institute_registry::store::write::vocabulary(&mut pool.get().unwrap()).unwrap()
}

#[actix_rt::test]
async fn min_sequence_waits_for_a_committed_change_and_refuses_a_future_one() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "reader-of-own-writes", "editor");
    let r = patch_json(
        &app,
        "/v1/institutes/mila",
        &k,
        serde_json::json!({"aliases": ["Institut québécois d'IA"]}),
        Some("*"),
    )
    .await;
    assert_eq!(r.status, 200);
    let seq: i64 = r.header("registry-sequence").unwrap().parse().unwrap();
    for uri in [
        format!("/v1/institutes?q=quebecois&min_sequence={seq}"),
        format!("/v1/stats?group_by=country&min_sequence={seq}"),
    ] {
        let r = get(&app, &uri).await;
        assert_eq!(r.status, 200, "{uri}");
        let at: i64 = r.header("registry-sequence").unwrap().parse().unwrap();
        assert!(at >= seq, "{uri}: {at} < {seq}");
    }
    assert_eq!(
        get_ok(
            &app,
            &format!("/v1/institutes?q=quebecois&min_sequence={seq}")
        )
        .await["total"],
        1
    );
    // A change not committed (yet) is a 400 at once, not a wait.
    let started = std::time::Instant::now();
    let r = get(&app, &format!("/v1/institutes?min_sequence={}", seq + 1000)).await;
    let p = r.problem(400);
    assert_eq!(r.fields(), vec!["min_sequence"], "{p}");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    let r = get(&app, "/v1/stats?group_by=kind&min_sequence=-1").await;
    r.problem(400);
    assert_eq!(r.fields(), vec!["min_sequence"]);
}
