use crate::common::*;
use actix_web::http::Method;
use serde_json::{json, Value};

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

    let r = delete(&app, &location, &k).await;
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
    let r = delete(&app, "/v1/sectors/space", &admin).await;
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
    let r = delete(&app, "/v1/sectors/space", &admin).await;
    assert_eq!(r.status, 204);
    get(&app, "/v1/sectors/space").await.problem(404);
}

#[actix_rt::test]
async fn exchange_rates_are_set_by_admins_and_conversions_follow() {
    let (_db, pool, app) = app().await;
    let admin = key(&pool, "ad", "admin");
    // TAIDE's NT$230m of 2024 has no rate: no USD amount, and the reason.
    let taide = get_ok(&app, "/v1/institutes/taide").await;
    assert_eq!(taide["latest_budget"]["amount_usd"], Value::Null);
    assert!(taide["latest_budget"]["usd_note"]
        .as_str()
        .unwrap()
        .contains("TWD in 2024"));
    let put_rate = |path: &'static str, body: serde_json::Value| {
        write(
            Method::PUT,
            path,
            Some(&admin),
            Some(&body),
            "application/json",
            Some("*"),
        )
    };
    let r = send(
        &app,
        put_rate(
            "/v1/exchange-rates/TWD/2024",
            json!({"units_per_usd": 32.1, "source": "https://example.org/twd-2024"}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let taide = get_ok(&app, "/v1/institutes/taide").await;
    assert_eq!(
        taide["latest_budget"]["amount_usd"],
        (230_000_000_f64 / 32.1).round() as i64
    );
    // A changed rate: Inria's 2011 budget, and France's comparable total, follow it.
    let fr_before = get_ok(&app, "/v1/countries/FR").await["total_budget_usd"]
        .as_i64()
        .unwrap();
    let before = get_ok(&app, "/v1/institutes/inria").await["latest_budget"]["amount_usd"]
        .as_i64()
        .unwrap();
    let rate = json!({"units_per_usd": 0.7194, "source": "https://example.org/eur-2011"});
    let r = send(&app, put_rate("/v1/exchange-rates/EUR/2011", rate.clone())).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let inria = get_ok(&app, "/v1/institutes/inria").await;
    let usd = inria["latest_budget"]["amount_usd"].as_i64().unwrap();
    assert_eq!(usd, (231_100_000_f64 / 0.7194).round() as i64);
    assert_ne!(usd, before);
    let fr = get_ok(&app, "/v1/countries/FR").await;
    assert!(
        (fr["total_budget_usd"].as_i64().unwrap() - (fr_before - before + usd)).abs() <= 1,
        "the comparable figure follows"
    );
    let r = send(&app, put_rate("/v1/exchange-rates/EUR/2011", rate)).await;
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
    let r = delete(&app, "/v1/exchange-rates/EUR/2011", &admin).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        get_ok(&app, "/v1/institutes/inria").await["latest_budget"]["amount_usd"],
        serde_json::Value::Null
    );
    let r = delete(&app, "/v1/exchange-rates/EUR/2011", &admin).await;
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
    // Over its five years ("5 years; ₩30tn in 2026 …"): ₩30tn a year, $21,090,508,158, which
    // is $408.06 per inhabitant and 1.1264% of 2025's GDP.
    assert_eq!(
        fund["annualized"],
        json!({"years": 5, "amount": 30_000_000_000_000_i64, "amount_usd": 21_090_508_158_i64,
               "usd_per_inhabitant": 408.06, "share_of_gdp_percent": 1.1264})
    );
    // A period in words ("multi-year") gives none; an end year counts from the announcement.
    let investai = get_ok(&app, "/v1/programs/investai").await;
    assert_eq!(investai["annualized"], Value::Null);
    let wasp = get_ok(&app, "/v1/programs/wasp-wallenberg-programme").await;
    assert_eq!(wasp["annualized"]["years"], 11, "2019 through 2029");
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

/// `currency=PPP` shows money in international dollars of the figure's year: the amount taken
/// into the country's currency at the year's market rate, divided by the World Bank's PPP
/// factor of the country and year, with the factor shown.
#[actix_rt::test]
async fn money_in_purchasing_power_dollars() {
    let (_db, _pool, app) = app().await;
    // The Turing's 2025 budget of ₩84bn: at 2025's average rates (1,422.44083333333 KRW and
    // 0.759473957338608 GBP per USD) £44,849,537, over the UK's 2025 factor of 0.677133 GBP
    // per international dollar: 66,234,457 international dollars.
    let turing = get_ok(&app, "/v1/institutes/alan-turing-institute?currency=PPP").await;
    let ppp = &turing["latest_budget"]["converted"];
    assert_eq!(ppp["currency"], "PPP");
    assert_eq!(ppp["amount"], 66_234_457_i64, "{ppp}");
    assert_eq!(ppp["year"], 2025);
    assert_eq!(ppp["ppp"]["country"], "GB");
    assert_eq!(ppp["ppp"]["year"], 2025);
    assert_eq!(ppp["ppp"]["lcu_per_intl_dollar"], 0.677133);
    assert_eq!(ppp["ppp"]["local_currency"], "GBP");
    let market = ppp["ppp"]["market_rate"].as_f64().unwrap();
    assert!((market - 0.759473957338608 / 1422.44083333333).abs() < 1e-12);
    assert!(ppp["ppp"]["source"]
        .as_str()
        .unwrap()
        .contains("PA.NUS.PPP"));
    assert_eq!(ppp["note"], Value::Null);
    // Its series: the 2024 £100m (UKRI/EPSRC) is 150,567,716 at 2024's factor 0.664153, no
    // market rate needed (1).
    let series = get_ok(
        &app,
        "/v1/institutes/alan-turing-institute/budgets?currency=PPP",
    )
    .await;
    let gbp = series["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["currency"] == "GBP")
        .unwrap();
    assert_eq!(gbp["converted"]["amount"], 150_567_716_i64);
    assert_eq!(gbp["converted"]["ppp"]["market_rate"], 1.0);
    assert_eq!(gbp["converted"]["ppp"]["lcu_per_intl_dollar"], 0.664153);
    let entry = get_ok(
        &app,
        &format!(
            "/v1/institutes/alan-turing-institute/budgets/{}?currency=ppp",
            gbp["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(entry["converted"], gbp["converted"]);
    // In lists too, and a market currency has no factor.
    let list = get_ok(&app, "/v1/institutes?q=alan%20turing&currency=PPP").await;
    assert_eq!(list["items"][0]["latest_budget"]["converted"], *ppp);
    let eur = get_ok(&app, "/v1/institutes/alan-turing-institute?currency=EUR").await;
    assert_eq!(eur["latest_budget"]["converted"]["ppp"], Value::Null);

    // Korea's National Growth Fund, ₩150tn announced 2025, over Korea's 2025 factor of
    // 816.329274 won per international dollar: 183,749,382,483.
    let fund = get_ok(&app, "/v1/programs/korea-national-growth-fund?currency=PPP").await;
    assert_eq!(fund["converted"]["amount"], 183_749_382_483_i64);
    assert_eq!(fund["converted"]["ppp"]["market_rate"], 1.0);
    // The EU has no factor: no amount, and a note that says why.
    let investai = get_ok(&app, "/v1/programs/investai?currency=PPP").await;
    assert_eq!(investai["converted"]["amount"], Value::Null);
    assert!(investai["converted"]["note"]
        .as_str()
        .unwrap()
        .contains("purchasing-power factor is known for EU"));
    // A country summary's budget total, at the country's latest factor.
    let kr = get_ok(&app, "/v1/countries/KR?currency=PPP").await;
    if kr["total_budget_usd"].is_i64() {
        assert_eq!(kr["total_budget"]["currency"], "PPP");
        assert_eq!(kr["total_budget"]["ppp"]["country"], "KR");
    }
    // Unknown codes are still refused, naming the field and the new choice.
    let bad = get(&app, "/v1/institutes/mila?currency=PPX").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.fields(), vec!["currency"]);
}
