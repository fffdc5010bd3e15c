//! Aggregates (`/v1/stats`), exports (CSV, NDJSON), money in any currency, and lineage.

use crate::common::*;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

fn accept(uri: &str, accept: &str) -> actix_web::test::TestRequest {
    actix_web::test::TestRequest::get()
        .uri(uri)
        .insert_header(("Accept", accept.to_string()))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

#[actix_rt::test]
async fn stats_agree_with_the_list_for_every_grouping() {
    let (_db, _pool, app) = app().await;
    let all = walk(&app, "/v1/institutes", 100).await;
    for by in ["country", "region", "sector", "kind", "founded_decade"] {
        let stats = get_ok(&app, &format!("/v1/stats?group_by={by}")).await;
        assert_eq!(stats["count"].as_u64().unwrap() as usize, all.len(), "{by}");
        let groups = stats["groups"].as_array().unwrap();
        let counts: Vec<i64> = groups
            .iter()
            .map(|g| g["count"].as_i64().unwrap())
            .collect();
        assert!(
            counts.windows(2).all(|w| w[0] >= w[1]),
            "{by}: largest first"
        );
        if by != "sector" {
            assert_eq!(
                counts.iter().sum::<i64>() as usize,
                all.len(),
                "{by}: no group cut"
            );
        }
    }
    // Country groups recomputed from the list itself.
    let stats = get_ok(&app, "/v1/stats?group_by=country").await;
    let mut heads: HashMap<String, Vec<f64>> = HashMap::new();
    let mut counts: HashMap<String, i64> = HashMap::new();
    for i in &all {
        let c = i["country"].as_str().unwrap().to_string();
        *counts.entry(c.clone()).or_default() += 1;
        let h = &i["latest_headcount"];
        if let Some(n) = h["researchers"].as_f64().or(h["staff"].as_f64()) {
            heads.entry(c).or_default().push(n);
        }
    }
    for g in stats["groups"].as_array().unwrap() {
        let key = g["key"].as_str().unwrap();
        assert_eq!(g["count"].as_i64().unwrap(), counts[key], "{key}");
        let h = heads.get(key).cloned().unwrap_or_default();
        assert_eq!(g["headcount"]["known"].as_u64().unwrap() as usize, h.len());
        assert_eq!(
            g["headcount"]["median"].as_f64(),
            median(h.clone()),
            "{key}"
        );
        assert_eq!(
            g["headcount"]["total"].as_f64(),
            (!h.is_empty()).then(|| h.iter().sum::<f64>())
        );
    }
    let gb = stats["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "GB")
        .unwrap();
    assert_eq!(gb["label"], "United Kingdom");
}

#[actix_rt::test]
async fn stats_take_filters_and_a_currency() {
    let (_db, _pool, app) = app().await;
    let usd = get_ok(&app, "/v1/stats?group_by=kind&region=Europe").await;
    let eur = get_ok(&app, "/v1/stats?group_by=kind&region=Europe&currency=eur").await;
    assert_eq!(eur["currency"], "EUR");
    let rate = eur["rate"]["units_per_usd"].as_f64().unwrap();
    assert!(eur["rate"]["year"].as_i64().unwrap() >= 2024);
    for (u, e) in usd["groups"]
        .as_array()
        .unwrap()
        .iter()
        .zip(eur["groups"].as_array().unwrap())
    {
        assert_eq!(u["key"], e["key"]);
        if let (Some(a), Some(b)) = (u["budget"]["total"].as_f64(), e["budget"]["total"].as_f64()) {
            assert!((a * rate - b).abs() <= 1.0 + a * rate * 1e-9, "{a} {b}");
        }
    }
    let list = get_ok(&app, "/v1/institutes?region=Europe&limit=1").await;
    assert_eq!(usd["count"], list["total"]);
    let decades = get_ok(&app, "/v1/stats?group_by=founded_decade&founded_from=2010").await;
    for g in decades["groups"].as_array().unwrap() {
        assert!(g["key"] == "2010" || g["key"] == "2020", "{g}");
        assert_eq!(g["label"], format!("{}s", g["key"].as_str().unwrap()));
    }
    let sectors = get_ok(&app, "/v1/stats?group_by=sector&q=institute").await;
    assert!(sectors["groups"][0]["label"].is_string());
    let r = get(&app, "/v1/stats").await;
    assert_eq!(r.fields(), vec!["group_by"]);
    let r = get(&app, "/v1/stats?group_by=city&currency=XXQ&limit=3").await;
    assert_eq!(r.fields(), vec!["limit", "group_by", "currency"]);
    let r = get(&app, "/v1/stats?group_by=city&currency=XXQ").await;
    assert_eq!(r.fields(), vec!["group_by", "currency"]);
}

#[actix_rt::test]
async fn csv_export_holds_every_match_and_parses_back() {
    let (_db, _pool, app) = app().await;
    let r = send(
        &app,
        accept(
            "/v1/exports/institutes?status=all&sort=-founded",
            "text/csv",
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    // No byte-order mark unless asked for (scripts read the file as it is).
    assert!(r.body.starts_with(b"id,slug,"));
    let with_bom = send(
        &app,
        accept(
            "/v1/exports/institutes?status=all&sort=-founded&bom=true",
            "text/csv",
        ),
    )
    .await;
    assert_eq!(
        with_bom.body[..3],
        *b"\xEF\xBB\xBF",
        "a UTF-8 byte-order mark"
    );
    assert_eq!(with_bom.body[3..], r.body[..]);
    let p = get(&app, "/v1/exports/institutes?format=ndjson&bom=true")
        .await
        .problem(400);
    assert_eq!(p["errors"][0]["field"], "bom");
    let p = get(&app, "/v1/exports/institutes?format=csv&bom=yes")
        .await
        .problem(400);
    assert_eq!(p["errors"][0]["field"], "bom");
    let text = std::str::from_utf8(&r.body).unwrap();
    assert!(text.contains("\r\n"));
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    assert_eq!(headers.len(), 31);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let listed = walk(&app, "/v1/institutes?status=all&sort=-founded", 100).await;
    assert_eq!(rows.len(), listed.len());
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    for (row, item) in rows.iter().zip(&listed) {
        assert_eq!(&row[col("id")], item["id"].as_str().unwrap());
        assert_eq!(&row[col("name")], item["name"].as_str().unwrap());
        let sectors: Vec<&str> = item["sectors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(&row[col("sectors")], sectors.join("|"));
        assert_eq!(
            &row[col("budget_amount_usd")],
            item["latest_budget"]["amount_usd"]
                .as_i64()
                .map(|v| v.to_string())
                .unwrap_or_default()
        );
    }
    // ?format wins over Accept; a currency adds a column.
    let r = send(
        &app,
        accept(
            "/v1/exports/institutes?format=csv&country=GB&currency=EUR",
            "application/json",
        ),
    )
    .await;
    let text = String::from_utf8(r.body.clone()).unwrap();
    assert!(text.lines().next().unwrap().ends_with(",budget_amount_eur"));
    assert_eq!(
        r.header("content-disposition").unwrap(),
        "attachment; filename=\"institutes.csv\""
    );
}

#[actix_rt::test]
async fn ndjson_export_streams_full_records_under_the_filters() {
    let (_db, _pool, app) = app().await;
    let r = send(
        &app,
        accept(
            "/v1/exports/institutes?region=Asia&currency=JPY",
            "application/x-ndjson",
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type").unwrap(), "application/x-ndjson");
    let lines: Vec<Value> = std::str::from_utf8(&r.body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let listed = walk(&app, "/v1/institutes?region=Asia", 100).await;
    assert_eq!(lines.len(), listed.len());
    for l in &lines {
        if !l["latest_budget"].is_null() {
            assert_eq!(l["latest_budget"]["converted"]["currency"], "JPY");
        }
    }
    let r = get(&app, "/v1/exports/institutes?format=xml").await;
    assert_eq!(r.fields(), vec!["format"]);
    let r = get(&app, "/v1/exports/institutes?format=json").await;
    assert!(r.problem(400)["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("GET /v1/institutes"));
    // The list answers JSON pages only, and says where exports are.
    for uri in ["/v1/institutes?format=csv", "/v1/institutes?bom=true"] {
        let p = get(&app, uri).await.problem(400);
        assert!(
            p["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("/v1/exports/institutes"),
            "{uri}: {p}"
        );
    }
    let p = send(&app, accept("/v1/institutes", "text/csv"))
        .await
        .problem(406);
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("/v1/exports/institutes"),
        "{p}"
    );
    // An export with no format and no Accept is CSV; Accept: application/json is refused.
    let r = get(&app, "/v1/exports/institutes?country=CA").await;
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    send(&app, accept("/v1/exports/institutes", "application/json"))
        .await
        .problem(406);
    let r = get(&app, "/v1/exports/institutes?format=ndjson&cursor=abc").await;
    assert!(r.fields().contains(&"cursor".to_string()));
    let r = send(&app, accept("/v1/institutes", "text/html")).await;
    r.problem(406);
    let r = send(&app, accept("/v1/institutes", "text/html, */*;q=0.1")).await;
    assert_eq!(r.status, 200);
    assert!(r.json()["items"].is_array());
}

#[actix_rt::test]
async fn every_money_read_converts_to_the_asked_currency() {
    let (_db, _pool, app) = app().await;
    let i = get_ok(&app, "/v1/institutes/cifar?currency=EUR").await;
    let b = &i["latest_budget"];
    let c = &b["converted"];
    assert_eq!(c["currency"], "EUR");
    assert_eq!(c["year"], b["year"]);
    let rates = get_ok(&app, "/v1/exchange-rates?currency=EUR,CAD").await;
    let rate_of = |cur: &str, year: i64| {
        rates["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["currency"] == cur && r["year"] == year)
            .map(|r| r["units_per_usd"].as_f64().unwrap())
    };
    let year = b["year"].as_i64().unwrap();
    let expected = b["amount"].as_f64().unwrap() / rate_of("CAD", year).unwrap()
        * rate_of("EUR", year).unwrap();
    assert!((c["amount"].as_f64().unwrap() - expected).abs() <= 1.0);
    // Without the parameter, nothing is added.
    let plain = get_ok(&app, "/v1/institutes/cifar").await;
    assert!(plain["latest_budget"].get("converted").is_none());
    // The series, an entry, the list, programmes and countries.
    let series = get_ok(
        &app,
        "/v1/institutes/alan-turing-institute/budgets?currency=GBP",
    )
    .await;
    for e in series["items"].as_array().unwrap() {
        let c = &e["converted"];
        assert_eq!(c["currency"], "GBP");
        assert!(c["amount"].is_i64() || c["note"].is_string(), "{e}");
    }
    let entry_id = series["items"][0]["id"].as_str().unwrap();
    let entry = get_ok(
        &app,
        &format!("/v1/institutes/alan-turing-institute/budgets/{entry_id}?currency=GBP"),
    )
    .await;
    assert_eq!(entry["converted"], series["items"][0]["converted"]);
    let page = get_ok(&app, "/v1/institutes?currency=KRW&limit=100").await;
    assert!(page["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["latest_budget"]["converted"]["currency"] == "KRW"));
    let programs = get_ok(&app, "/v1/programs?currency=EUR").await;
    for p in programs["items"].as_array().unwrap() {
        assert_eq!(p["converted"]["currency"], "EUR");
    }
    let pid = programs["items"][0]["id"].as_str().unwrap();
    let one = get_ok(&app, &format!("/v1/programs/{pid}?currency=EUR")).await;
    assert_eq!(one["converted"], programs["items"][0]["converted"]);
    let countries = get_ok(&app, "/v1/countries?currency=EUR").await;
    for c in countries["items"].as_array().unwrap() {
        if c["total_budget_usd"].is_null() {
            assert!(c.get("total_budget").is_none(), "{c}");
        } else {
            assert_eq!(c["total_budget"]["currency"], "EUR", "{c}");
        }
    }
    let ca = get_ok(&app, "/v1/countries/CA?currency=EUR").await;
    assert_eq!(ca["total_budget"]["currency"], "EUR");
    // A missing rate is a null amount with the reason, never a guess.
    let r = get_ok(&app, "/v1/institutes/cifar/budgets?currency=AMD").await;
    for e in r["items"].as_array().unwrap() {
        assert!(e["converted"]["amount"].is_null());
        assert!(e["converted"]["rate"].is_null());
        assert!(e["converted"]["note"].as_str().unwrap().contains("AMD"));
    }
    for bad in ["EURO", "XQQ"] {
        let r = get(&app, &format!("/v1/institutes/cifar?currency={bad}")).await;
        assert_eq!(r.fields(), vec!["currency"], "{bad}");
    }
}

#[actix_rt::test]
async fn lineage_lists_ancestors_and_descendants() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "alice", "editor");
    let mut parent = "vector-institute".to_string();
    for name in ["Lineage Child Lab", "Lineage Grandchild Lab"] {
        let r = post_json(
            &app,
            "/v1/institutes",
            &k,
            json!({"name": name, "kind": "non_profit", "country": "CA", "parent": parent}),
        )
        .await;
        assert_eq!(r.status, 201);
        parent = r.json()["slug"].as_str().unwrap().to_string();
    }
    let leaf = get_ok(&app, &format!("/v1/institutes/{parent}?include=ancestors")).await;
    let chain: Vec<&str> = leaf["ancestors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        chain,
        vec!["lineage-child-lab", "vector-institute", "cifar"]
    );
    assert!(leaf.get("descendants").is_none());
    let root = get_ok(&app, "/v1/institutes/cifar?include=descendants,ancestors").await;
    assert_eq!(root["ancestors"], json!([]));
    let below: Vec<(String, i64)> = root["descendants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["slug"].as_str().unwrap().to_string(),
                d["depth"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(below.contains(&("vector-institute".into(), 1)));
    assert!(below.contains(&("lineage-child-lab".into(), 2)));
    assert!(below.contains(&("lineage-grandchild-lab".into(), 3)));
    let depths: Vec<i64> = below.iter().map(|b| b.1).collect();
    assert!(depths.windows(2).all(|w| w[0] <= w[1]), "breadth first");
    let r = get(&app, "/v1/institutes/cifar?include=siblings").await;
    assert_eq!(r.fields(), vec!["include"]);
    let r = get(&app, "/v1/institutes/cifar?expand=all").await;
    assert_eq!(r.fields(), vec!["expand"]);
}

/// `currency=PPP` values budgets in international dollars for filters, sorts and stats; a
/// cursor is bound to the valuation it was made under.
#[actix_rt::test]
async fn budgets_compared_at_purchasing_power() {
    let (_db, _pool, app) = app().await;
    // Every institute with a comparable budget, by its value in international dollars.
    let ppp = walk(
        &app,
        "/v1/institutes?currency=PPP&sort=-budget&budget_min=0",
        7,
    )
    .await;
    let usd = walk(&app, "/v1/institutes?sort=-budget&budget_min=0", 7).await;
    assert!(!ppp.is_empty());
    let values: Vec<i64> = ppp
        .iter()
        .map(|i| i["latest_budget"]["converted"]["amount"].as_i64().unwrap())
        .collect();
    // The order is the order of the shown international-dollar amounts (whole-dollar
    // rounding of the comparable USD value aside).
    for pair in values.windows(2) {
        assert!(pair[0] + 2 >= pair[1], "{values:?}");
    }
    // Both valuations cover the institutes whose country and year have a factor.
    assert!(ppp.len() <= usd.len());
    let ppp_ids: HashSet<&str> = ppp.iter().map(|i| i["id"].as_str().unwrap()).collect();
    for i in &usd {
        let slug = i["slug"].as_str().unwrap();
        let shown = get_ok(&app, &format!("/v1/institutes/{slug}?currency=PPP")).await;
        let valued = shown["latest_budget"]["converted"]["amount"].is_i64();
        assert_eq!(
            ppp_ids.contains(i["id"].as_str().unwrap()),
            valued,
            "{slug}"
        );
    }
    // Bounds are in international dollars: the Turing's 66,234,457 is inside 66m–67m, and
    // its USD value (59,053,441) is not.
    let inside = get_ok(
        &app,
        "/v1/institutes?currency=PPP&budget_min=66000000&budget_max=67000000&country=GB",
    )
    .await;
    assert!(inside["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["slug"] == "alan-turing-institute"));
    let outside = get_ok(
        &app,
        "/v1/institutes?budget_min=66000000&budget_max=67000000&country=GB",
    )
    .await;
    assert!(!outside["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["slug"] == "alan-turing-institute"));
    // A cursor made under one valuation is refused under the other.
    let first = get_ok(&app, "/v1/institutes?currency=PPP&sort=-budget&limit=2").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let r = get(
        &app,
        &format!("/v1/institutes?sort=-budget&limit=2&cursor={cursor}"),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.fields(), vec!["cursor"]);

    // Stats add up the same values: the GB group's total is the sum of its institutes'.
    let stats = get_ok(&app, "/v1/stats?group_by=country&currency=PPP").await;
    assert_eq!(stats["currency"], "PPP");
    assert_eq!(stats["rate"], Value::Null);
    let gb = group(&stats, "GB");
    let gb_items = walk(
        &app,
        "/v1/institutes?currency=PPP&country=GB&budget_min=0",
        20,
    )
    .await;
    let sum: i64 = gb_items
        .iter()
        .map(|i| i["latest_budget"]["converted"]["amount"].as_i64().unwrap())
        .sum();
    let total = gb["budget"]["total"].as_i64().unwrap();
    assert!(
        (total - sum).abs() <= gb_items.len() as i64,
        "{total} {sum}"
    );
    assert_eq!(gb["budget"]["known"], gb_items.len());
    // … and the country's summary shows the same total.
    let summary = get_ok(&app, "/v1/countries/GB?currency=PPP").await;
    assert_eq!(summary["total_budget"]["amount"], total);
}

/// Grouped by country or region, each group measures its budget total against population and
/// GDP, with the year of the figures used.
#[actix_rt::test]
async fn stats_per_inhabitant_and_share_of_gdp() {
    let (_db, _pool, app) = app().await;
    let stats = get_ok(&app, "/v1/stats?group_by=country").await;
    let gb = group(&stats, "GB");
    let i = &gb["indicators"];
    assert_eq!(i["population"], 69_487_000);
    assert_eq!(i["gdp_current_usd"], 4_002_587_541_846.01);
    assert_eq!(i["year"], 2025);
    let total = gb["budget"]["total"].as_f64().unwrap();
    assert_eq!(
        i["budget_per_inhabitant"].as_f64().unwrap(),
        (total / 69_487_000.0 * 1e4).round() / 1e4
    );
    assert_eq!(
        i["budget_share_of_gdp_percent"].as_f64().unwrap(),
        (total / 4_002_587_541_846.01 * 100.0 * 1e6).round() / 1e6
    );
    // The country's summary agrees.
    let summary = get_ok(&app, "/v1/countries/GB").await;
    assert_eq!(
        summary["budget_usd_per_inhabitant"],
        i["budget_per_inhabitant"]
    );
    // In another currency, per inhabitant follows it; the share of GDP does not change.
    let eur = get_ok(&app, "/v1/stats?group_by=country&currency=EUR").await;
    let gb_eur = group(&eur, "GB");
    assert_eq!(
        gb_eur["indicators"]["budget_share_of_gdp_percent"],
        i["budget_share_of_gdp_percent"]
    );
    assert_ne!(
        gb_eur["indicators"]["budget_per_inhabitant"],
        i["budget_per_inhabitant"]
    );
    // A region adds up its countries (the EU aggregate left out).
    let regions = get_ok(&app, "/v1/stats?group_by=region").await;
    let europe = group(&regions, "Europe");
    let people = europe["indicators"]["population"].as_i64().unwrap();
    assert!((700_000_000..800_000_000).contains(&people), "{people}");
    // Other groupings have none.
    let kinds = get_ok(&app, "/v1/stats?group_by=kind").await;
    assert!(kinds["groups"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["indicators"].is_null()));
}

/// The group of a stats answer with this key.
fn group(stats: &Value, key: &str) -> Value {
    stats["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == key)
        .unwrap_or_else(|| panic!("no group {key}"))
        .clone()
}
