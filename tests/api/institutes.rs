use crate::common::*;
use std::collections::HashSet;

#[actix_rt::test]
async fn turing_by_slug_has_budget_headcount_and_sources() {
    let (_db, _pool, app) = app().await;
    let t = get_ok(&app, "/v1/institutes/alan-turing-institute").await;
    assert_eq!(t["slug"], "alan-turing-institute");
    assert_eq!(t["name"], "The Alan Turing Institute");
    assert_eq!(t["country"], "GB");
    assert_eq!(t["kind"], "non_profit");
    assert_eq!(t["founded"], 2015);
    assert!(t["id"].as_str().unwrap().starts_with("ins_"));
    let b = &t["latest_budget"];
    assert_eq!(b["amount"], 84_000_000_000_i64);
    assert_eq!(b["currency"], "KRW");
    assert_eq!(b["year"], 2025);
    assert_eq!(b["kind"], "annual");
    assert_eq!(b["basis"], "annual");
    assert_eq!(b["comparable"], true);
    assert!(b["source"].as_str().unwrap().starts_with("https://"));
    // Converted with 2025's average KRW rate, which the response names.
    let rate = b["usd_rate"]["units_per_usd"].as_f64().unwrap();
    assert_eq!(b["usd_rate"]["year"], 2025);
    let usd = b["amount_usd"].as_i64().unwrap();
    assert_eq!(usd, (84_000_000_000_f64 / rate).round() as i64);
    // The latest of its two headcounts: the op-ed's "over 400 researchers" (2025), after
    // 440 staff (2024).
    let h = &t["latest_headcount"];
    assert_eq!(h["year"], 2025);
    assert_eq!(h["researchers"], 400);
    assert!(h["source"].as_str().unwrap().starts_with("https://"));
    assert!(t["version"].as_i64().unwrap() >= 1);
    assert!(t["created_at"].as_str().unwrap().ends_with('Z'));
}

#[actix_rt::test]
async fn id_and_slug_answer_alike_and_unknown_is_404() {
    let (_db, _pool, app) = app().await;
    let by_slug = get_ok(&app, "/v1/institutes/alan-turing-institute").await;
    let id = by_slug["id"].as_str().unwrap();
    let by_id = get_ok(&app, &format!("/v1/institutes/{id}")).await;
    assert_eq!(by_id, by_slug);
    let p = get(&app, "/v1/institutes/no-such-institute")
        .await
        .problem(404);
    assert!(p["detail"].as_str().unwrap().contains("no-such-institute"));
    get(&app, "/v1/institutes/ror:000000000").await.problem(404);
    get(&app, "/v1/institutes/a%00b").await.problem(404);
    get(&app, &format!("/v1/institutes/{}", "x".repeat(300)))
        .await
        .problem(404);
}

#[actix_rt::test]
async fn parent_and_children_agree() {
    let (_db, _pool, app) = app().await;
    let mut linked = 0;
    let mut cursor: Option<String> = None;
    loop {
        let uri = match &cursor {
            Some(c) => format!("/v1/institutes?status=all&limit=100&cursor={c}"),
            None => "/v1/institutes?status=all&limit=100".to_string(),
        };
        let page = get_ok(&app, &uri).await;
        for item in page["items"].as_array().unwrap() {
            if let Some(parent) = item["parent"]["slug"].as_str() {
                linked += 1;
                let p = get_ok(&app, &format!("/v1/institutes/{parent}")).await;
                let children: Vec<&str> = p["children"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["slug"].as_str().unwrap())
                    .collect();
                assert!(children.contains(&item["slug"].as_str().unwrap()));
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert!(
        linked > 0,
        "the seed links some institutes to their parents"
    );
}

#[actix_rt::test]
async fn walking_every_page_yields_each_institute_once() {
    let (_db, _pool, app) = app().await;
    let first = get_ok(&app, "/v1/institutes?status=all&limit=7").await;
    let total = first["total"].as_i64().unwrap();
    let seeded = institute_registry::store::seed::Dataset::embedded()
        .unwrap()
        .institutes
        .len();
    assert_eq!(total as usize, seeded);
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    let mut uri = "/v1/institutes?status=all&limit=7".to_string();
    loop {
        let reply = get(&app, &uri).await;
        assert_eq!(reply.status, 200);
        let page = reply.json();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        for item in items {
            assert!(
                seen.insert(item["id"].as_str().unwrap().to_string()),
                "repeated {item}"
            );
            names.push(item["name"].as_str().unwrap().to_lowercase());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                let link = reply
                    .header("link")
                    .expect("Link header on every page but the last");
                assert!(link.ends_with("rel=\"next\""));
                let next = link
                    .trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_string();
                assert!(next.contains(&format!("cursor={cursor}")));
                assert!(next.contains("status=all") && next.contains("limit=7"));
                uri = next;
            }
            None => {
                assert!(reply.header("link").is_none());
                break;
            }
        }
    }
    assert_eq!(seen.len() as i64, total);
    assert!(names.len() > 1);
}

#[actix_rt::test]
async fn filters_combine_and_lists_mean_any_of() {
    let (_db, _pool, app) = app().await;
    let all = get_ok(&app, "/v1/institutes?limit=100").await;
    let items = all["items"].as_array().unwrap().clone();
    assert!(
        items.iter().all(|i| i["status"] == "active"),
        "active by default"
    );

    let ca = get_ok(&app, "/v1/institutes?country=CA&limit=100").await;
    let ca_items = ca["items"].as_array().unwrap();
    assert!(!ca_items.is_empty());
    assert!(ca_items.iter().all(|i| i["country"] == "CA"));
    let expected = items.iter().filter(|i| i["country"] == "CA").count();
    assert_eq!(ca["total"].as_u64().unwrap() as usize, expected);

    let lower = get_ok(&app, "/v1/institutes?country=ca&limit=100").await;
    assert_eq!(lower["total"], ca["total"]);

    let two = get_ok(&app, "/v1/institutes?country=CA,GB&limit=100").await;
    let expected = items
        .iter()
        .filter(|i| i["country"] == "CA" || i["country"] == "GB")
        .count();
    assert_eq!(two["total"].as_u64().unwrap() as usize, expected);

    let health = get_ok(&app, "/v1/institutes?sector=healthcare&limit=100").await;
    let expected = items
        .iter()
        .filter(|i| {
            i["sectors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == "healthcare")
        })
        .count();
    assert!(expected > 0);
    assert_eq!(health["total"].as_u64().unwrap() as usize, expected);

    let uni = get_ok(&app, "/v1/institutes?kind=university&country=FR&limit=100").await;
    let expected = items
        .iter()
        .filter(|i| i["kind"] == "university" && i["country"] == "FR")
        .count();
    assert_eq!(uni["total"].as_u64().unwrap() as usize, expected);
    assert!(uni["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["kind"] == "university"));

    let none = get_ok(&app, "/v1/institutes?status=withdrawn").await;
    assert_eq!(none["total"], 0);
    assert_eq!(none["next_cursor"], serde_json::Value::Null);
}

#[actix_rt::test]
async fn series_are_sourced_and_converted_with_their_own_years_rate() {
    let (_db, _pool, app) = app().await;
    let b = get_ok(&app, "/v1/institutes/alan-turing-institute/budgets").await;
    assert_eq!(b["institute"]["slug"], "alan-turing-institute");
    let items = b["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for e in items {
        assert!(e["id"].as_str().unwrap().starts_with("bud_"));
        assert!(e["source"].as_str().unwrap().len() > 8);
    }
    let h = get_ok(&app, "/v1/institutes/alan-turing-institute/headcounts").await;
    assert_eq!(h["items"][0]["staff"], 440);

    // TAIDE's budget is in Taiwan dollars of 2024, a year with no published rate: no guess,
    // a reason.
    let taide = get_ok(&app, "/v1/institutes/taide/budgets").await;
    let e = &taide["items"][0];
    assert_eq!(e["year"], 2024);
    assert_eq!(e["currency"], "TWD");
    assert_eq!(e["amount_usd"], serde_json::Value::Null);
    assert_eq!(e["usd_rate"], serde_json::Value::Null);
    assert!(e["usd_note"].as_str().unwrap().contains("2024"));

    get(&app, "/v1/institutes/nope/budgets").await.problem(404);
    get(&app, "/v1/institutes/nope/headcounts")
        .await
        .problem(404);
}
