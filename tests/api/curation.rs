use crate::common::*;
use actix_web::http::Method;
use serde_json::json;

fn example() -> serde_json::Value {
    json!({"name": "Example Institute for Machine Learning", "acronym": "EIML", "kind": "non_profit",
           "country": "CA", "city": "Toronto", "founded": 2020, "website": "https://example.org",
           "sectors": ["healthcare", "machine-learning"], "parent": "cifar",
           "aliases": ["Institut d'exemple"], "external_ids": {"ror": "0abcde123", "wikidata": "Q42"}})
}

#[actix_rt::test]
async fn create_answers_201_with_location_etag_and_derived_slug() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "alice", "editor");
    let r = post_json(&app, "/v1/institutes", &k, example()).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let created = r.json();
    assert_eq!(created["slug"], "example-institute-for-machine-learning");
    assert_eq!(created["parent"]["slug"], "cifar");
    assert_eq!(created["version"], 1);
    let location = r.header("location").unwrap();
    assert_eq!(
        location,
        "/v1/institutes/example-institute-for-machine-learning"
    );
    let etag = r.header("etag").unwrap();
    let read = get(&app, &location).await;
    assert_eq!(read.header("etag").as_deref(), Some(etag.as_str()));
    assert_eq!(read.json(), created);
    // Lookups by external id; the parent lists the child.
    assert_eq!(
        get_ok(&app, "/v1/institutes/ror:0abcde123").await["id"],
        created["id"]
    );
    assert_eq!(
        get_ok(&app, "/v1/institutes/wikidata:Q42").await["id"],
        created["id"]
    );
    let cifar = get_ok(&app, "/v1/institutes/cifar").await;
    assert!(cifar["children"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == created["id"]));

    // The same name again gets a fresh slug; the same external id is a conflict naming it.
    let mut again = example();
    again["external_ids"] = json!({});
    let second = post_json(&app, "/v1/institutes", &k, again).await;
    assert_eq!(second.status, 201);
    assert_eq!(
        second.json()["slug"],
        "example-institute-for-machine-learning-2"
    );
    let dup = post_json(&app, "/v1/institutes", &k, json!({"name": "Other", "kind": "company", "country": "GB", "external_ids": {"ror": "0abcde123"}})).await;
    dup.problem(409);
    assert_eq!(dup.fields(), vec!["/external_ids/ror"]);
    let taken = post_json(
        &app,
        "/v1/institutes",
        &k,
        json!({"name": "Other", "kind": "company", "country": "GB", "slug": "mila"}),
    )
    .await;
    taken.problem(409);
    assert_eq!(taken.fields(), vec!["/slug"]);
}

#[actix_rt::test]
async fn every_problem_of_a_body_comes_back_at_once() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "alice", "editor");
    let body = json!({"name": "x\u{0}y", "kind": "castle", "country": "XX", "founded": 99999,
        "website": "javascript:alert(1)", "sectors": ["nope"], "colour": "red", "slug": "Bad Slug",
        "parent": "no-such-parent", "external_ids": {"ror": "nope", "isni": "1"}, "aliases": "one"});
    let r = post_json(&app, "/v1/institutes", &k, body).await;
    r.problem(400);
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "/aliases",
            "/colour",
            "/country",
            "/external_ids/isni",
            "/external_ids/ror",
            "/founded",
            "/kind",
            "/name",
            "/sectors/0",
            "/slug",
            "/website"
        ]
    );
    // EU is a jurisdiction for programmes, not an institute's country.
    let eu = post_json(
        &app,
        "/v1/institutes",
        &k,
        json!({"name": "X", "kind": "company", "country": "EU"}),
    )
    .await;
    assert_eq!(eu.fields(), vec!["/country"]);
    let parent = post_json(
        &app,
        "/v1/institutes",
        &k,
        json!({"name": "X", "kind": "company", "country": "GB", "parent": "nowhere"}),
    )
    .await;
    assert_eq!(parent.fields(), vec!["/parent"]);
    let r = send(
        &app,
        write(
            Method::POST,
            "/v1/institutes",
            Some(&k),
            Some(&json!([1])),
            "application/json",
            None,
        ),
    )
    .await;
    assert_eq!(r.fields(), vec!["/"]);
}

#[actix_rt::test]
async fn bodies_are_checked_for_type_size_and_syntax() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "alice", "editor");
    let r = send(
        &app,
        write(
            Method::POST,
            "/v1/institutes",
            Some(&k),
            Some(&example()),
            "text/plain",
            None,
        ),
    )
    .await;
    r.problem(415);
    let r = send(
        &app,
        write(
            Method::POST,
            "/v1/institutes",
            Some(&k),
            Some(&example()),
            "application/merge-patch+json",
            None,
        ),
    )
    .await;
    r.problem(415);
    let big = json!({"name": "x", "kind": "company", "country": "GB", "description": "a".repeat(100_000)});
    let r = send(
        &app,
        write(
            Method::POST,
            "/v1/institutes",
            Some(&k),
            Some(&big),
            "application/json",
            None,
        ),
    )
    .await;
    r.problem(413);
    let req = actix_web::test::TestRequest::post()
        .uri("/v1/institutes")
        .insert_header(("Authorization", format!("Bearer {k}")))
        .insert_header(("Content-Type", "application/json"))
        .set_payload("{\"name\": ");
    let r = send(&app, req).await;
    r.problem(400);
    assert_eq!(r.fields(), vec!["/"]);
}

#[actix_rt::test]
async fn put_replaces_and_a_renamed_institute_keeps_its_old_slug() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "alice", "editor");
    let before = get(&app, "/v1/institutes/kyutai").await;
    let tag = before.header("etag").unwrap();
    let body = json!({"slug": "kyutai-lab", "name": "Kyutai Research Lab", "kind": "non_profit", "country": "FR", "city": "Paris"});
    let r = send(
        &app,
        write(
            Method::PUT,
            "/v1/institutes/kyutai",
            Some(&k),
            Some(&body),
            "application/json",
            Some(&tag),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let after = r.json();
    assert_eq!(after["slug"], "kyutai-lab");
    assert_eq!(
        after["acronym"],
        serde_json::Value::Null,
        "a PUT replaces the whole record"
    );
    assert_eq!(
        after["version"],
        before.json()["version"].as_i64().unwrap() + 1
    );
    assert_ne!(r.header("etag").unwrap(), tag);
    assert_eq!(
        get_ok(&app, "/v1/institutes/kyutai").await["slug"],
        "kyutai-lab"
    );
    // Figures survive a replace.
    assert_eq!(after["latest_budget"], before.json()["latest_budget"]);
    // The same stale ETag now fails, and nothing changes.
    let r = send(
        &app,
        write(
            Method::PUT,
            "/v1/institutes/kyutai-lab",
            Some(&k),
            Some(&body),
            "application/json",
            Some(&tag),
        ),
    )
    .await;
    r.problem(412);
}

#[actix_rt::test]
async fn patch_merges_and_etags_guard_reads_and_writes() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "alice", "editor");
    let r = get(&app, "/v1/institutes/mila").await;
    let tag = r.header("etag").unwrap();
    let not_modified = send(
        &app,
        actix_web::test::TestRequest::get()
            .uri("/v1/institutes/mila")
            .insert_header(("If-None-Match", tag.clone())),
    )
    .await;
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());

    let r = patch_json(
        &app,
        "/v1/institutes/mila",
        &k,
        json!({"city": "Montréal", "acronym": null, "founded": 1993}),
        Some(&tag),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let patched = r.json();
    assert_eq!(patched["city"], "Montréal");
    assert_eq!(patched["acronym"], serde_json::Value::Null);
    assert_eq!(
        patched["name"],
        get_ok(&app, "/v1/institutes/mila").await["name"]
    );
    assert_eq!(patched["parent"]["slug"], "cifar", "untouched fields stay");

    let stale = patch_json(
        &app,
        "/v1/institutes/mila",
        &k,
        json!({"city": "Quebec"}),
        Some(&tag),
    )
    .await;
    let p = stale.problem(412);
    assert!(p["detail"].as_str().unwrap().contains("ETag"));
    assert_eq!(
        get_ok(&app, "/v1/institutes/mila").await["city"],
        "Montréal"
    );

    let invalid = patch_json(
        &app,
        "/v1/institutes/mila",
        &k,
        json!({"kind": "castle", "name": null}),
        Some("*"),
    )
    .await;
    invalid.problem(400);
    let mut fields = invalid.fields();
    fields.sort();
    assert_eq!(fields, vec!["/kind", "/name"]);

    // A cycle is refused: CIFAR cannot become a child of its own child.
    let cycle = patch_json(
        &app,
        "/v1/institutes/cifar",
        &k,
        json!({"parent": "mila"}),
        Some("*"),
    )
    .await;
    cycle.problem(400);
    assert_eq!(cycle.fields(), vec!["/parent"]);
    let own = patch_json(
        &app,
        "/v1/institutes/cifar",
        &k,
        json!({"parent": "cifar"}),
        Some("*"),
    )
    .await;
    assert_eq!(own.fields(), vec!["/parent"]);
}

#[actix_rt::test]
async fn delete_then_404_or_410_pointing_to_the_successor() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "alice", "editor");
    let kyutai = get_ok(&app, "/v1/institutes/kyutai").await;
    let r = delete(&app, "/v1/institutes/kyutai", &k).await;
    assert_eq!(r.status, 204);
    get(&app, "/v1/institutes/kyutai").await.problem(404);
    get(
        &app,
        &format!("/v1/institutes/{}", kyutai["id"].as_str().unwrap()),
    )
    .await
    .problem(404);
    // Its slug is not handed out again.
    let again = post_json(
        &app,
        "/v1/institutes",
        &k,
        json!({"name": "Kyutai", "kind": "non_profit", "country": "FR"}),
    )
    .await;
    assert_eq!(again.json()["slug"], "kyutai-2");

    // Merging CIFAR into Vector: CIFAR's children move to Vector, CIFAR answers 410.
    let cifar = get_ok(&app, "/v1/institutes/cifar").await;
    let children = cifar["children"].as_array().unwrap().len();
    assert!(children >= 2);
    let r = delete(&app, "/v1/institutes/cifar?merged_into=mila", &k).await;
    assert_eq!(r.status, 204);
    let gone = get(&app, "/v1/institutes/cifar").await;
    let p = gone.problem(410);
    assert_eq!(p["successor"]["slug"], "mila");
    assert!(gone.header("link").unwrap().contains("/v1/institutes/mila"));
    let vector = get_ok(&app, "/v1/institutes/vector-institute").await;
    assert_eq!(vector["parent"]["slug"], "mila");
    let mila = get_ok(&app, "/v1/institutes/mila").await;
    assert_eq!(
        mila["parent"],
        serde_json::Value::Null,
        "the successor does not become its own child"
    );

    let bad = delete(&app, "/v1/institutes/amii?merged_into=nowhere", &k).await;
    assert_eq!(bad.fields(), vec!["merged_into"]);
    let bad = delete(&app, "/v1/institutes/amii?merge=mila", &k).await;
    assert_eq!(bad.fields(), vec!["merge"]);
}

#[actix_rt::test]
async fn figures_are_written_and_the_record_follows() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "alice", "editor");
    let before = get_ok(&app, "/v1/institutes/vector-institute").await;
    let budget = json!({"year": 2024, "kind": "annual", "amount": 30_000_000, "currency": "CAD",
                        "source": "https://example.org/vector-annual-report-2024"});
    let r = post_json(
        &app,
        "/v1/institutes/vector-institute/budgets",
        &k,
        budget.clone(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let entry = r.json();
    let location = r.header("location").unwrap();
    assert_eq!(get_ok(&app, &location).await, entry);
    let after = get_ok(&app, "/v1/institutes/vector-institute").await;
    assert_eq!(after["version"], before["version"].as_i64().unwrap() + 1);
    assert_eq!(after["latest_budget"]["id"], entry["id"]);
    assert!(after["latest_budget"].get("entry_id").is_none());
    assert_eq!(after["latest_budget"]["basis"], "annual");
    assert!(after["latest_budget"]["amount_usd"].as_i64().unwrap() > 20_000_000);
    // The country summary counts it at once.
    let ca = get_ok(&app, "/v1/countries/CA").await;
    assert!(
        ca["total_budget_usd"].as_i64().unwrap()
            >= after["latest_budget"]["amount_usd"].as_i64().unwrap()
    );

    post_json(
        &app,
        "/v1/institutes/vector-institute/budgets",
        &k,
        budget.clone(),
    )
    .await
    .problem(409);
    let bad = post_json(&app, "/v1/institutes/vector-institute/budgets", &k,
        json!({"year": 2024, "kind": "annual", "amount": -1, "currency": "CAD", "source": "s", "period_end": 2030})).await;
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(fields, vec!["/amount", "/period_end"]);

    let tag = get(&app, &location).await.header("etag").unwrap();
    let mut changed = budget.clone();
    changed["amount"] = json!(31_000_000);
    let r = send(
        &app,
        write(
            Method::PUT,
            &location,
            Some(&k),
            Some(&changed),
            "application/json",
            Some(&tag),
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["amount"], 31_000_000);
    let r = send(
        &app,
        write(
            Method::PUT,
            &location,
            Some(&k),
            Some(&changed),
            "application/json",
            Some(&tag),
        ),
    )
    .await;
    r.problem(412);
    let r = delete(&app, &location, &k).await;
    assert_eq!(r.status, 204);
    get(&app, &location).await.problem(404);
    assert_eq!(
        get_ok(&app, "/v1/institutes/vector-institute").await["latest_budget"],
        before["latest_budget"]
    );

    let hc = json!({"year": 2025, "researchers": 700, "basis": "researchers and practitioners", "source": "https://example.org/vector"});
    let r = post_json(
        &app,
        "/v1/institutes/vector-institute/headcounts",
        &k,
        hc.clone(),
    )
    .await;
    assert_eq!(r.status, 201);
    let hc_location = r.header("location").unwrap();
    assert_eq!(
        get_ok(&app, "/v1/institutes/vector-institute").await["latest_headcount"]["researchers"],
        700
    );
    post_json(&app, "/v1/institutes/vector-institute/headcounts", &k, hc)
        .await
        .problem(409);
    let none = post_json(
        &app,
        "/v1/institutes/vector-institute/headcounts",
        &k,
        json!({"year": 2023, "basis": "b", "source": "s"}),
    )
    .await;
    assert_eq!(none.fields(), vec!["/researchers"]);
    let r = delete(&app, &hc_location, &k).await;
    assert_eq!(r.status, 204);
    get(&app, "/v1/institutes/vector-institute/budgets/bud_nope")
        .await
        .problem(404);
    get(&app, "/v1/institutes/mila/headcounts/hc_nope")
        .await
        .problem(404);
}

#[actix_rt::test]
async fn history_records_who_when_and_what_and_outlives_the_institute() {
    let (_db, pool, app) = app().await;
    let alice = key(&pool, "alice", "editor");
    let bob = key(&pool, "bob", "admin");
    let r = post_json(
        &app,
        "/v1/institutes",
        &alice,
        json!({"name": "Tracked", "kind": "company", "country": "GB"}),
    )
    .await;
    let id = r.json()["id"].as_str().unwrap().to_string();
    patch_json(
        &app,
        "/v1/institutes/tracked",
        &bob,
        json!({"city": "Leeds"}),
        Some("*"),
    )
    .await;
    post_json(
        &app,
        "/v1/institutes/tracked/headcounts",
        &alice,
        json!({"year": 2024, "staff": 12, "basis": "staff", "source": "https://example.org"}),
    )
    .await;
    let h = get_ok(&app, "/v1/institutes/tracked/history?limit=2").await;
    assert_eq!(h["total"], 3);
    let items = h["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["subject"], "headcount");
    assert_eq!(items[0]["actor"], "alice");
    assert_eq!(items[1]["actor"], "bob");
    assert_eq!(items[1]["action"], "update");
    assert_eq!(items[1]["before"]["city"], serde_json::Value::Null);
    assert_eq!(items[1]["after"]["city"], "Leeds");
    let older = get_ok(
        &app,
        &format!(
            "/v1/institutes/tracked/history?limit=2&cursor={}",
            h["next_cursor"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(older["items"][0]["action"], "create");
    assert_eq!(older["next_cursor"], serde_json::Value::Null);

    delete(&app, "/v1/institutes/tracked", &alice).await;
    let h = get_ok(&app, &format!("/v1/institutes/{id}/history")).await;
    assert_eq!(h["total"], 4);
    assert_eq!(h["items"][0]["action"], "delete");
    assert_eq!(h["items"][0]["after"], serde_json::Value::Null);
    get(&app, "/v1/institutes/nothing-here/history")
        .await
        .problem(404);
    get(&app, "/v1/institutes/mila/history?cursor=x")
        .await
        .problem(400);
}

#[actix_rt::test]
async fn duplicate_keys_bidi_controls_and_active_urls_are_refused_naming_the_field() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "strict", "editor");
    let raw = |method: Method, uri: &str, body: &str, content_type: &str| {
        actix_web::test::TestRequest::default()
            .method(method)
            .uri(uri)
            .insert_header(("Authorization", format!("Bearer {k}")))
            .insert_header(("Content-Type", content_type.to_string()))
            .insert_header(("If-Match", "*"))
            .set_payload(body.to_string())
    };
    // A key given twice is not "the last wins": it is refused, with its pointer.
    for (method, uri, body, content_type, field) in [
        (
            Method::POST,
            "/v1/institutes",
            r#"{"name": "Twice", "name": "Again", "kind": "non_profit", "country": "NL"}"#,
            "application/json",
            "/name",
        ),
        (
            Method::PATCH,
            "/v1/institutes/vector-institute",
            r#"{"external_ids": {"ror": "03kqdja62", "ror": "0abcde123"}}"#,
            "application/merge-patch+json",
            "/external_ids/ror",
        ),
        (
            Method::POST,
            "/v1/institutes/vector-institute/headcounts",
            r#"{"year": 2020, "staff": 5, "staff": 6, "basis": "staff", "source": "s"}"#,
            "application/json",
            "/staff",
        ),
    ] {
        let r = send(&app, raw(method, uri, body, content_type)).await;
        let p = r.problem(400);
        assert_eq!(r.fields(), vec![field], "{p}");
        assert!(
            p["detail"].as_str().unwrap().contains("more than once"),
            "{p}"
        );
    }
    // Bidirectional controls, in a name or an alias.
    for body in [
        json!({"name": "Institute \u{202E}evil", "kind": "non_profit", "country": "NL"}),
        json!({"name": "Plain", "aliases": ["a\u{2066}b"], "kind": "non_profit", "country": "NL"}),
    ] {
        let r = post_json(&app, "/v1/institutes", &k, body).await;
        let p = r.problem(400);
        assert!(
            r.fields() == vec!["/name"] || r.fields() == vec!["/aliases/0"],
            "{p}"
        );
        assert!(
            p["detail"].as_str().unwrap().contains("bidirectional"),
            "{p}"
        );
    }
    // A source is a citation or an http(s) URL.
    for (source, ok) in [
        ("javascript:alert(1)", false),
        ("JavaScript:alert(1)", false),
        ("data:text/html,<b>x</b>", false),
        ("ftp://example.org/report.pdf", false),
        ("doi:10.1000/182", true),
        ("Annual report 2024: page 12", true),
        ("https://example.org/report", true),
    ] {
        let r = post_json(
            &app,
            "/v1/institutes/vector-institute/budgets",
            &k,
            json!({"year": 2019, "kind": "annual", "amount": 1000, "currency": "CAD",
                   "source": source}),
        )
        .await;
        if ok {
            assert!(r.status == 201 || r.status == 409, "{source}: {}", r.status);
        } else {
            let p = r.problem(400);
            assert_eq!(r.fields(), vec!["/source"], "{source}: {p}");
        }
    }
}
