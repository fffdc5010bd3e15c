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

/// Country indicators: the seed's World Bank figures at /v1/countries/{code} (the latest of
/// each) and by year; admins set and remove years, each a change of the sequence; bad input is
/// a 400 naming the field; an emptied table is loaded again from the seed (an upgrade).
#[actix_rt::test]
async fn country_indicators_are_read_and_written() {
    let (_db, pool, app) = app().await;
    // Korea's latest figures, as the source file gives them (2025).
    let kr = get_ok(&app, "/v1/countries/KR").await;
    let latest = &kr["indicators"];
    assert_eq!(latest["population"]["value"], json!(51684564.0));
    assert_eq!(latest["population"]["year"], 2025);
    assert_eq!(latest["gdp_current_usd"]["value"], json!(1872374961553.15));
    assert_eq!(
        latest["ppp_lcu_per_intl_dollar"]["value"],
        json!(816.329274)
    );
    assert_eq!(latest["series_url"], "/v1/countries/KR/indicators");
    // A country's comparable budget per inhabitant and as a share of GDP, by hand for the
    // United Kingdom: its $68,686,270 over 2025's 69,487,000 inhabitants is $0.9885 each, and
    // 0.001716% of 2025's GDP of $4,002,587,541,846.01. The list says the same.
    let gb = get_ok(&app, "/v1/countries/GB").await;
    assert_eq!(gb["total_budget_usd"], 68_686_270);
    assert_eq!(gb["indicators"]["population"]["value"], json!(69487000.0));
    assert_eq!(gb["budget_usd_per_inhabitant"], json!(0.9885));
    assert_eq!(gb["budget_share_of_gdp_percent"], json!(0.001716));
    let countries = get_ok(&app, "/v1/countries").await;
    let listed = countries["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "GB")
        .unwrap();
    assert_eq!(listed["budget_usd_per_inhabitant"], json!(0.9885));
    assert_eq!(listed["indicators"], gb["indicators"]);
    // No population (Taiwan is not in the World Bank's data): no ratio.
    let tw = get_ok(&app, "/v1/countries/TW").await;
    assert!(tw["indicators"]["population"].is_null(), "{tw}");
    assert!(tw["budget_usd_per_inhabitant"].is_null());
    // The series, oldest first, paged; the EU aggregate has no PPP factor.
    let series = get_ok(&app, "/v1/countries/KR/indicators").await;
    assert_eq!(series["total"], 16);
    let years: Vec<i64> = series["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["year"].as_i64().unwrap())
        .collect();
    assert_eq!(years, (2010..=2025).collect::<Vec<i64>>());
    let page = get_ok(&app, "/v1/countries/KR/indicators?limit=10").await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = get_ok(
        &app,
        &format!("/v1/countries/KR/indicators?limit=10&cursor={cursor}"),
    )
    .await;
    assert_eq!(rest["items"][0]["year"], 2020);
    let eu = get_ok(&app, "/v1/countries/EU/indicators/2024").await;
    assert_eq!(eu["population"], 450228188);
    assert!(eu["ppp_lcu_per_intl_dollar"].is_null());
    assert!(eu["source"].as_str().unwrap().contains("World Bank"));
    for (uri, status) in [
        ("/v1/countries/XX/indicators", 404),
        ("/v1/countries/kr/indicators", 404),
        ("/v1/countries/KR/indicators/2009", 404),
        ("/v1/countries/KR/indicators/20x4", 400),
        ("/v1/countries/KR/indicators?limit=0", 400),
    ] {
        get(&app, uri).await.problem(status);
    }

    // Writes: admin only; created, replaced, removed; each a change with its record.
    let admin = key(&pool, "indicator-admin", "admin");
    let editor = key(&pool, "indicator-editor", "editor");
    let body = json!({"population": 5000000, "gdp_current_usd": null, "source": "https://example.org/census-2026"});
    let put = |k: &str, body: &serde_json::Value| {
        write(
            Method::PUT,
            "/v1/countries/NZ/indicators/2026",
            Some(k),
            Some(body),
            "application/json",
            None,
        )
    };
    send(&app, put(&editor, &body)).await.problem(403);
    let r = send(&app, put(&admin, &body)).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let seq = r.header("registry-sequence").unwrap();
    assert_eq!(r.json()["population"], 5000000);
    assert!(r.json()["ppp_lcu_per_intl_dollar"].is_null());
    let nz = get_ok(&app, "/v1/countries/NZ").await;
    assert_eq!(nz["indicators"]["population"]["year"], 2026);
    let changes = get_ok(
        &app,
        &format!("/v1/changes?after={}", seq.parse::<i64>().unwrap() - 1),
    )
    .await;
    assert_eq!(changes["items"][0]["resource"], "country_indicator");
    assert_eq!(changes["items"][0]["id"], "NZ/2026");
    assert_eq!(changes["items"][0]["record"]["population"], 5000000);
    let replaced = json!({"population": 5100000, "source": "https://example.org/census-2026b"});
    assert_eq!(send(&app, put(&admin, &replaced)).await.status, 200);
    for (bad, field) in [
        (json!({"population": -1, "source": "x"}), "/population"),
        (json!({"population": 1.5, "source": "x"}), "/population"),
        (
            json!({"gdp_current_usd": "big", "source": "x"}),
            "/gdp_current_usd",
        ),
        (
            json!({"population": 1, "source": "javascript:alert(1)"}),
            "/source",
        ),
        (json!({"population": 1, "source": "x", "area": 3}), "/area"),
        (json!({"population": null, "source": "x"}), ""),
    ] {
        let p = send(&app, put(&admin, &bad)).await.problem(400);
        assert!(
            p["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{bad}: {p}"
        );
    }
    let delete = write(
        Method::DELETE,
        "/v1/countries/NZ/indicators/2026",
        Some(&admin),
        None,
        "application/json",
        None,
    );
    assert_eq!(send(&app, delete).await.status, 204);
    get(&app, "/v1/countries/NZ/indicators/2026")
        .await
        .problem(404);

    // An upgrade from a version without indicators: the table is empty, and loaded once.
    {
        use diesel::prelude::*;
        let mut conn = pool.get().unwrap();
        diesel::delete(institute_registry::db::schema::country_indicators::table)
            .execute(&mut conn)
            .unwrap();
        let data = institute_registry::store::seed::Dataset::embedded().unwrap();
        let added =
            institute_registry::store::seed::seed_indicators_if_empty(&mut conn, &data).unwrap();
        assert!(added > 3000, "{added}");
        assert_eq!(
            institute_registry::store::seed::seed_indicators_if_empty(&mut conn, &data).unwrap(),
            0
        );
    }
    settle(&app).await;
    let kr = get_ok(&app, "/v1/countries/KR/indicators/2025").await;
    assert_eq!(kr["population"], 51684564);
}

/// A programme per inhabitant and as a share of GDP, by hand: Korea's National Growth Fund is
/// ₩150 trillion announced in 2025; at 2025's ₩1,422.44083333333 per USD that is
/// $105,452,540,791, which over 2025's 51,684,564 inhabitants is $2,040.31 each, and 5.632% of
/// 2025's GDP of $1,872,374,961,553.15.
#[actix_rt::test]
async fn programmes_per_inhabitant_and_share_of_gdp() {
    let (_db, pool, app) = app().await;
    let fund = get_ok(&app, "/v1/programs/korea-national-growth-fund").await;
    assert_eq!(fund["amount_usd"], 105_452_540_791_i64);
    assert_eq!(
        fund["per_inhabitant"],
        json!({"usd": 2040.31, "population": 51684564, "year": 2025})
    );
    assert_eq!(
        fund["share_of_gdp"],
        json!({"percent": 5.632, "gdp_current_usd": 1872374961553.15, "year": 2025})
    );
    // The same in the list and in the country's detail.
    let listed = get_ok(&app, "/v1/programs?jurisdiction=KR").await;
    let item = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["slug"] == "korea-national-growth-fund")
        .unwrap();
    assert_eq!(item["per_inhabitant"], fund["per_inhabitant"]);
    let kr = get_ok(&app, "/v1/countries/KR").await;
    assert!(kr["program_list"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["share_of_gdp"] == fund["share_of_gdp"]));
    // A year with no population yet takes the latest before it; no figures at all gives null.
    let editor = key(&pool, "programme-editor", "editor");
    let body = json!({"jurisdiction": "KR", "name": "Future Plan", "amount": 1_000_000_000_i64,
        "currency": "USD", "announced": 2026, "source": "https://example.org/plan"});
    let r = post_json(&app, "/v1/programs", &editor, body).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["per_inhabitant"]["year"], 2025);
    assert_eq!(r.json()["per_inhabitant"]["usd"], json!(19.35));
    let body = json!({"jurisdiction": "TW", "name": "Island Plan", "amount": 1_000_000_i64,
        "currency": "USD", "announced": 2024, "source": "https://example.org/tw"});
    let r = post_json(&app, "/v1/programs", &editor, body).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["per_inhabitant"].is_null());
    assert!(r.json()["share_of_gdp"].is_null());
}
