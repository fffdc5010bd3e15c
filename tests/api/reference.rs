use crate::common::*;

#[actix_rt::test]
async fn sectors_count_active_institutes() {
    let (_db, _pool, app) = app().await;
    let sectors = get_ok(&app, "/v1/sectors").await;
    let items = sectors["items"].as_array().unwrap();
    assert!((15..=25).contains(&items.len()), "{} sectors", items.len());
    for s in items {
        let slug = s["slug"].as_str().unwrap();
        let listed = get_ok(&app, &format!("/v1/institutes?sector={slug}&limit=1")).await;
        assert_eq!(listed["total"], s["institutes"], "sector {slug}");
    }
}

#[actix_rt::test]
async fn countries_summarize_institutes_figures_and_programmes() {
    let (_db, _pool, app) = app().await;
    let list = get_ok(&app, "/v1/countries").await;
    let items = list["items"].as_array().unwrap();
    let gb = items.iter().find(|c| c["code"] == "GB").expect("GB listed");
    assert_eq!(gb["name"], "United Kingdom");
    assert_eq!(gb["region"], "Europe");
    let gb_list = get_ok(&app, "/v1/institutes?country=GB&limit=100").await;
    assert_eq!(gb["institutes"], gb_list["total"]);
    let staff: i64 = gb_list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["latest_headcount"]["staff"].as_i64())
        .sum();
    assert_eq!(gb["total_staff"], staff);
    let budget: i64 = gb_list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["latest_budget"]["comparable"] == true)
        .filter_map(|i| i["latest_budget"]["amount_usd"].as_i64())
        .sum();
    assert!((gb["total_budget_usd"].as_i64().unwrap() - budget).abs() <= 1);
    assert!(items.iter().any(|c| c["code"] == "EU"), "EU has programmes");
    assert!(items
        .windows(2)
        .all(|w| w[0]["code"].as_str() < w[1]["code"].as_str()));

    let us = get_ok(&app, "/v1/countries/US").await;
    assert_eq!(us["code"], "US");
    let programs = us["program_list"].as_array().unwrap();
    assert_eq!(programs.len() as i64, us["programs"].as_i64().unwrap());
    assert!(programs
        .iter()
        .any(|p| p["amount"] == 500_000_000_000_i64 && p["currency"] == "USD"));
    assert_eq!(us["institutes_url"], "/v1/institutes?country=US");

    let empty = get_ok(&app, "/v1/countries/AQ").await;
    assert_eq!(empty["institutes"], 0);
    assert_eq!(empty["program_list"].as_array().unwrap().len(), 0);
}

#[actix_rt::test]
async fn programmes_filter_by_jurisdiction_and_convert() {
    let (_db, _pool, app) = app().await;
    let all = get_ok(&app, "/v1/programs").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 18);
    let eu = get_ok(&app, "/v1/programs?jurisdiction=EU").await;
    let items = eu["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|p| p["jurisdiction"] == "EU"));
    let fr = get_ok(&app, "/v1/programs?jurisdiction=fr,jp").await;
    assert!(fr["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["jurisdiction"] == "FR" || p["jurisdiction"] == "JP"));
    for p in all["items"].as_array().unwrap() {
        assert!(p["source"].as_str().unwrap().starts_with("http"));
        assert!(p["amount_usd"].is_i64() || p["usd_note"].is_string());
    }
}

#[actix_rt::test]
async fn exchange_rates_are_published_with_sources() {
    let (_db, _pool, app) = app().await;
    let all = get_ok(&app, "/v1/exchange-rates").await;
    let seeded = include_str!("../../data/exchange_rates.csv")
        .lines()
        .count()
        - 1;
    assert_eq!(all["items"].as_array().unwrap().len(), seeded);
    let eur = get_ok(&app, "/v1/exchange-rates?currency=GBP").await;
    let items = eur["items"].as_array().unwrap();
    assert_eq!(items.len(), 11);
    assert_eq!(items[0]["year"], 2015);
    assert!(items[0]["source"].as_str().unwrap().contains("World Bank"));
}

#[actix_rt::test]
async fn probes_answer() {
    let (db, _pool, app) = app().await;
    assert_eq!(get_ok(&app, "/healthz").await["status"], "ok");
    let ready = get_ok(&app, "/readyz").await;
    assert_eq!(ready["status"], "ok");
    assert_eq!(ready["database"], db.backend().name());
    for probe in ["/healthz?verbose=1", "/readyz?x"] {
        let r = get(&app, probe).await;
        r.problem(400);
    }
}

#[actix_rt::test]
async fn a_country_without_budgets_says_null_not_zero() {
    let (_db, _pool, app) = app().await;
    let countries = get_ok(&app, "/v1/countries").await;
    let items = countries
        .as_array()
        .or_else(|| countries["items"].as_array())
        .unwrap()
        .clone();
    let mut without = 0;
    for c in &items {
        if c["institutes_with_budget"] == 0 {
            without += 1;
            assert!(c["total_budget_usd"].is_null(), "{c}");
            let one = get_ok(
                &app,
                &format!("/v1/countries/{}?currency=EUR", c["code"].as_str().unwrap()),
            )
            .await;
            assert!(one["total_budget_usd"].is_null(), "{one}");
            assert!(one.get("total_budget").is_none(), "{one}");
        } else {
            assert!(c["total_budget_usd"].as_i64().unwrap() > 0, "{c}");
        }
    }
    assert!(without > 0, "the seed has countries without a budget");
    // The stats say the same for the same absence.
    let stats = get_ok(&app, "/v1/stats?group_by=country").await;
    for g in stats["groups"].as_array().unwrap() {
        let code = g["key"].as_str().unwrap_or_default();
        if let Some(c) = items.iter().find(|c| c["code"] == code) {
            assert_eq!(
                c["total_budget_usd"].is_null(),
                g["budget"]["total"].is_null(),
                "{code}: {c} / {g}"
            );
        }
    }
}

/// Countries, programmes and exchange rates page like the other lists: `limit`, `cursor`,
/// `next_cursor`, `total`, `Link: rel="next"`; every page walked gives the whole list once.
#[actix_rt::test]
async fn reference_lists_page_with_cursors() {
    let (_db, _pool, app) = app().await;
    for (base, join) in [
        ("/v1/exchange-rates", "?"),
        ("/v1/exchange-rates?currency=EUR,GBP,JPY", "&"),
        ("/v1/programs", "?"),
        ("/v1/programs?currency=EUR", "&"),
        ("/v1/countries", "?"),
    ] {
        let whole = get_ok(&app, base).await;
        let total = whole["total"].as_u64().unwrap() as usize;
        let all = whole["items"].as_array().unwrap().clone();
        assert_eq!(
            all.len(),
            total,
            "{base}: without limit, one page holds all"
        );
        assert!(whole["next_cursor"].is_null(), "{base}");
        assert!(total >= 3, "{base}: {total}");
        let mut walked: Vec<serde_json::Value> = Vec::new();
        let mut uri = format!("{base}{join}limit=2");
        loop {
            let r = get(&app, &uri).await;
            assert_eq!(r.status, 200, "{uri}");
            let page = r.json();
            assert_eq!(page["total"].as_u64().unwrap() as usize, total, "{uri}");
            walked.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    let link = r.header("link").expect("a Link header");
                    assert!(link.contains("rel=\"next\""), "{link}");
                    uri = format!("{base}{join}limit=2&cursor={cursor}");
                }
                None => break,
            }
        }
        assert_eq!(
            walked, all,
            "{base}: pages of 2 give the list in order, once"
        );
    }
    // Programmes: most recently announced first.
    let programs = get_ok(&app, "/v1/programs").await;
    let years: Vec<i64> = programs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["announced"].as_i64().unwrap())
        .collect();
    assert!(years.windows(2).all(|w| w[0] >= w[1]), "{years:?}");
    for (uri, field) in [
        ("/v1/countries?limit=0", "limit"),
        ("/v1/exchange-rates?limit=1001", "limit"),
        ("/v1/programs?cursor=nonsense", "cursor"),
        ("/v1/programs?page=2", "page"),
    ] {
        let p = get(&app, uri).await.problem(400);
        assert_eq!(p["errors"][0]["field"], field, "{uri}: {p}");
    }
}
