use crate::common::*;
use actix_web::http::Method;
use serde_json::json;

#[actix_rt::test]
async fn programmes_are_created_replaced_and_deleted_by_editors() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "alice", "editor");
    let gb_before = get_ok(&app, "/v1/countries/GB").await["programs"]
        .as_i64()
        .unwrap();
    let body = json!({"jurisdiction": "GB", "name": "Example National AI Plan", "amount": 2_000_000_000_i64,
                      "currency": "GBP", "announced": 2024, "source": "https://example.org/plan"});
    let r = post_json(&app, "/v1/programs", &k, body.clone()).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let created = r.json();
    assert_eq!(created["slug"], "example-national-ai-plan");
    assert!(created["amount_usd"].as_i64().unwrap() > 2_000_000_000);
    let location = r.header("location").unwrap();
    let read = get(&app, &location).await;
    assert_eq!(read.json(), created);
    let tag = read.header("etag").unwrap();
    assert_eq!(
        get_ok(&app, "/v1/countries/GB").await["programs"],
        gb_before + 1
    );

    let mut changed = body.clone();
    changed["amount"] = json!(2_500_000_000_i64);
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
    assert_eq!(r.json()["version"], 2);
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

    let bad = post_json(
        &app,
        "/v1/programs",
        &k,
        json!({"jurisdiction": "XX", "name": "", "amount": -1,
        "currency": "ABC", "announced": 1800, "source": "s", "extra": true}),
    )
    .await;
    bad.problem(400);
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "/amount",
            "/announced",
            "/currency",
            "/extra",
            "/jurisdiction",
            "/name"
        ]
    );
    let eu = post_json(
        &app,
        "/v1/programs",
        &k,
        json!({"jurisdiction": "EU", "name": "EU plan", "amount": 1,
        "currency": "EUR", "announced": 2025, "source": "s"}),
    )
    .await;
    assert_eq!(eu.status, 201);

    let r = send(
        &app,
        write(Method::DELETE, &location, Some(&k), None, "", Some("*")),
    )
    .await;
    assert_eq!(r.status, 204);
    get(&app, &location).await.problem(404);
    get(&app, "/v1/programs/no-such-programme")
        .await
        .problem(404);
}

#[actix_rt::test]
async fn sectors_are_curated_by_admins_only() {
    let (_db, pool, app) = app().await;
    let editor = key(&pool, "ed", "editor");
    let admin = key(&pool, "ad", "admin");
    let body = json!({"slug": "space", "name": "Space"});
    post_json(&app, "/v1/sectors", &editor, body.clone())
        .await
        .problem(403);
    let r = post_json(&app, "/v1/sectors", &admin, body.clone()).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["institutes"], 0);
    post_json(&app, "/v1/sectors", &admin, body)
        .await
        .problem(409);
    // Institutes can use it at once.
    let r = patch_json(
        &app,
        "/v1/institutes/amii",
        &editor,
        json!({"sectors": ["space"]}),
        Some("*"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(get_ok(&app, "/v1/sectors/space").await["institutes"], 1);
    let r = send(
        &app,
        write(
            Method::DELETE,
            "/v1/sectors/space",
            Some(&admin),
            None,
            "",
            Some("*"),
        ),
    )
    .await;
    r.problem(409);
    let r = send(
        &app,
        write(
            Method::PUT,
            "/v1/sectors/space",
            Some(&admin),
            Some(&json!({"name": "Space and satellites"})),
            "application/json",
            Some("*"),
        ),
    )
    .await;
    assert_eq!(r.json()["name"], "Space and satellites");
    let r = send(
        &app,
        write(
            Method::PUT,
            "/v1/sectors/space",
            Some(&admin),
            Some(&json!({"slug": "orbit", "name": "x"})),
            "application/json",
            Some("*"),
        ),
    )
    .await;
    assert_eq!(r.fields(), vec!["/slug"]);
    patch_json(
        &app,
        "/v1/institutes/amii",
        &editor,
        json!({"sectors": ["machine-learning"]}),
        Some("*"),
    )
    .await;
    let r = send(
        &app,
        write(
            Method::DELETE,
            "/v1/sectors/space",
            Some(&admin),
            None,
            "",
            Some("*"),
        ),
    )
    .await;
    assert_eq!(r.status, 204);
    get(&app, "/v1/sectors/space").await.problem(404);
}

#[actix_rt::test]
async fn exchange_rates_are_set_by_admins_and_conversions_follow() {
    let (_db, pool, app) = app().await;
    let admin = key(&pool, "ad", "admin");
    let inria = get_ok(&app, "/v1/institutes/inria").await;
    assert_eq!(
        inria["latest_budget"]["amount_usd"],
        serde_json::Value::Null
    );
    let rate = json!({"units_per_usd": 0.7194, "source": "https://example.org/eur-2011"});
    let r = send(
        &app,
        write(
            Method::PUT,
            "/v1/exchange-rates/EUR/2011",
            Some(&admin),
            Some(&rate),
            "application/json",
            Some("*"),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let inria = get_ok(&app, "/v1/institutes/inria").await;
    let usd = inria["latest_budget"]["amount_usd"].as_i64().unwrap();
    assert_eq!(usd, (231_100_000_f64 / 0.7194).round() as i64);
    let fr = get_ok(&app, "/v1/countries/FR").await;
    assert!(
        fr["total_budget_usd"].as_i64().unwrap() >= usd,
        "the comparable figure follows"
    );
    let r = send(
        &app,
        write(
            Method::PUT,
            "/v1/exchange-rates/EUR/2011",
            Some(&admin),
            Some(&rate),
            "application/json",
            Some("*"),
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = send(
        &app,
        write(
            Method::PUT,
            "/v1/exchange-rates/XYZ/20x1",
            Some(&admin),
            Some(&json!({"units_per_usd": -1})),
            "application/json",
            Some("*"),
        ),
    )
    .await;
    r.problem(400);
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(fields, vec!["currency", "year"]);
    let r = send(
        &app,
        write(
            Method::PUT,
            "/v1/exchange-rates/EUR/2012",
            Some(&admin),
            Some(&json!({"units_per_usd": 0, "source": ""})),
            "application/json",
            Some("*"),
        ),
    )
    .await;
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(fields, vec!["/source", "/units_per_usd"]);
    let r = send(
        &app,
        write(
            Method::DELETE,
            "/v1/exchange-rates/EUR/2011",
            Some(&admin),
            None,
            "",
            Some("*"),
        ),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        get_ok(&app, "/v1/institutes/inria").await["latest_budget"]["amount_usd"],
        serde_json::Value::Null
    );
    let r = send(
        &app,
        write(
            Method::DELETE,
            "/v1/exchange-rates/EUR/2011",
            Some(&admin),
            None,
            "",
            Some("*"),
        ),
    )
    .await;
    r.problem(404);
}
