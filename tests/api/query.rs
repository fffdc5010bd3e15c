//! Filters, multi-key sorting and keyset paging over every sort.

use crate::common::*;
use serde_json::{json, Value};
use std::collections::HashSet;

fn headcount(i: &Value) -> Option<i64> {
    let h = &i["latest_headcount"];
    h["researchers"].as_i64().or(h["staff"].as_i64())
}

fn budget(i: &Value) -> Option<i64> {
    let b = &i["latest_budget"];
    if b["comparable"] == true {
        b["amount_usd"].as_i64()
    } else {
        None
    }
}

#[actix_rt::test]
async fn every_sort_walks_each_record_once_in_order() {
    let (_db, _pool, app) = app().await;
    for sort in [
        "name",
        "-name",
        "-founded,name",
        "founded",
        "-budget",
        "budget,-headcount",
        "-headcount",
        "-updated",
        "created,-name",
    ] {
        let items = walk(&app, &format!("/v1/institutes?status=all&sort={sort}"), 7).await;
        let ids: HashSet<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
        let seeded = institute_registry::store::seed::Dataset::embedded()
            .unwrap()
            .institutes
            .len();
        assert_eq!(ids.len(), seeded, "sort={sort}");
        assert_eq!(items.len(), seeded, "sort={sort}");
        let first = sort.split(',').next().unwrap();
        let (desc, field) = match first.strip_prefix('-') {
            Some(f) => (true, f),
            None => (false, first),
        };
        let values: Vec<Option<i64>> = items
            .iter()
            .map(|i| match field {
                "founded" => i["founded"].as_i64(),
                "budget" => budget(i),
                "headcount" => headcount(i),
                _ => Some(0),
            })
            .collect();
        // Present values in order, missing ones last.
        let present: Vec<i64> = values.iter().flatten().copied().collect();
        let first_missing = values
            .iter()
            .position(Option::is_none)
            .unwrap_or(values.len());
        assert!(
            values[first_missing..].iter().all(Option::is_none),
            "sort={sort}: nulls last"
        );
        let mut sorted = present.clone();
        sorted.sort();
        if desc {
            sorted.reverse();
        }
        assert_eq!(present, sorted, "sort={sort}");
    }
    let names: Vec<String> = walk(&app, "/v1/institutes?status=all&sort=-name", 30)
        .await
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    assert_ne!(
        names.first(),
        walk(&app, "/v1/institutes?status=all", 30)
            .await
            .first()
            .map(|i| i["name"].as_str().unwrap().to_string())
            .as_ref()
    );
}

#[actix_rt::test]
async fn range_filters_match_the_records() {
    let (_db, _pool, app) = app().await;
    let all = walk(&app, "/v1/institutes", 100).await;
    let check = |uri: String, keep: &dyn Fn(&Value) -> bool| {
        let expected: HashSet<String> = all
            .iter()
            .filter(|i| keep(i))
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        (uri, expected)
    };
    let cases = vec![
        check(
            "/v1/institutes?founded_from=2015&founded_to=2019".into(),
            &|i| {
                i["founded"]
                    .as_i64()
                    .is_some_and(|y| (2015..=2019).contains(&y))
            },
        ),
        check("/v1/institutes?headcount_min=300".into(), &|i| {
            headcount(i).is_some_and(|h| h >= 300)
        }),
        check("/v1/institutes?headcount_max=100".into(), &|i| {
            headcount(i).is_some_and(|h| h <= 100)
        }),
        check("/v1/institutes?budget_min=10000000".into(), &|i| {
            budget(i).is_some_and(|b| b >= 10_000_000)
        }),
        check("/v1/institutes?region=Asia".into(), &|i| {
            [
                "JP", "KR", "CN", "SG", "AE", "SA", "IN", "TW", "IL", "PK", "QA", "TR",
            ]
            .contains(&i["country"].as_str().unwrap())
        }),
        check("/v1/institutes?region=northern%20america".into(), &|i| {
            ["US", "CA"].contains(&i["country"].as_str().unwrap())
        }),
        check("/v1/institutes?parent=cifar".into(), &|i| {
            i["parent"]["slug"] == "cifar"
        }),
        check(
            "/v1/institutes?ids=mila,amii,vector-institute".into(),
            &|i| ["mila", "amii", "vector-institute"].contains(&i["slug"].as_str().unwrap()),
        ),
    ];
    for (uri, expected) in cases {
        let got: HashSet<String> = walk(&app, &uri, 100)
            .await
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        assert!(!expected.is_empty(), "{uri} matches something in the seed");
        assert_eq!(got, expected, "{uri}");
    }
    // A budget bound in another currency is converted at that currency's latest rate.
    let usd = get_ok(&app, "/v1/institutes?budget_min=10000000&limit=100").await["total"]
        .as_i64()
        .unwrap();
    let krw = get_ok(
        &app,
        "/v1/institutes?budget_min=10000000&currency=KRW&limit=100",
    )
    .await["total"]
        .as_i64()
        .unwrap();
    assert!(
        krw > usd,
        "10 million won is far less than 10 million dollars"
    );
}

#[actix_rt::test]
async fn updated_since_filters_on_the_update_time() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "feed", "editor");
    let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    patch_json(
        &app,
        "/v1/institutes/amii",
        &k,
        serde_json::json!({"city": "Edmonton, AB"}),
        Some("*"),
    )
    .await;
    let kyutai = get_ok(&app, "/v1/institutes/kyutai").await;
    delete(&app, "/v1/institutes/kyutai", &k).await;
    let uri = format!(
        "/v1/institutes?updated_since={}&sort=updated",
        since.replace('+', "%2B")
    );
    let feed = get_ok(&app, &uri).await;
    let slugs: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, vec!["amii"]);
    // Deletions are in /v1/changes, not in the list.
    assert!(feed.get("deleted").is_none());
    assert!(kyutai["id"].is_string());
}

#[actix_rt::test]
async fn query_errors_name_their_parameter() {
    let (_db, _pool, app) = app().await;
    for (uri, field) in [
        ("/v1/institutes?sort=colour", "sort"),
        ("/v1/institutes?sort=name,name", "sort"),
        ("/v1/institutes?sort=-", "sort"),
        ("/v1/institutes?founded_from=abc", "founded_from"),
        ("/v1/institutes?headcount_min=-5", "headcount_min"),
        ("/v1/institutes?budget_max=1e9", "budget_max"),
        ("/v1/institutes?budget_min=5&currency=XYZ", "currency"),
        ("/v1/institutes?currency=", "currency"),
        ("/v1/institutes?currency=QQQ", "currency"),
        ("/v1/institutes?region=Atlantis", "region"),
        ("/v1/institutes?parent=nobody", "parent"),
        ("/v1/institutes?ids=mila,nobody", "ids"),
        ("/v1/institutes?updated_since=yesterday", "updated_since"),
    ] {
        let r = get(&app, uri).await;
        r.problem(400);
        assert_eq!(r.fields(), vec![field], "{uri}");
    }
    // A cursor belongs to its sort.
    let page = get_ok(&app, "/v1/institutes?sort=-founded&limit=5").await;
    let c = page["next_cursor"].as_str().unwrap();
    let r = get(
        &app,
        &format!("/v1/institutes?sort=name&limit=5&cursor={c}"),
    )
    .await;
    assert_eq!(r.fields(), vec!["cursor"]);
    let ids: String = (0..101)
        .map(|i| format!("x{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        get(&app, &format!("/v1/institutes?ids={ids}"))
            .await
            .fields(),
        vec!["ids"]
    );
}

/// Broad filters over a larger registry take another path (walking the sort's index); it must
/// give the same answers: every match once, in order, with the right total.
#[actix_rt::test]
async fn large_registry_pages_walk_the_sort_index_correctly() {
    let (_db, pool, app) = app().await;
    institute_registry::store::generate::generate(&mut pool.get().unwrap(), 3000, 7, &|_, _| {})
        .unwrap();
    settle(&app).await;
    let sectors = "&sector=healthcare,environment,robotics,language,education-talent,finance,machine-learning";
    for filter in [
        "",
        sectors,
        "&region=Asia,Europe,Americas&kind=university,public_research",
        "&headcount_min=20&headcount_max=5000",
    ] {
        for (sort, key) in [
            ("-budget", budget as fn(&Value) -> Option<i64>),
            ("headcount", headcount),
        ] {
            let base = format!("/v1/institutes?sort={sort}{filter}");
            let first = get_ok(&app, &format!("{base}&limit=1")).await;
            let total = first["total"].as_u64().unwrap() as usize;
            assert!(
                total >= 1000,
                "{base}: {total} matches exercise the index walk"
            );
            let items = walk(&app, &base, 100).await;
            assert_eq!(items.len(), total, "{base}");
            let ids: HashSet<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
            assert_eq!(ids.len(), total, "{base}: each once");
            let values: Vec<Option<i64>> = items.iter().map(key).collect();
            let present: Vec<i64> = values.iter().flatten().copied().collect();
            let sorted = if sort.starts_with('-') {
                present.windows(2).all(|w| w[0] >= w[1])
            } else {
                present.windows(2).all(|w| w[0] <= w[1])
            };
            assert!(sorted, "{base}");
            let first_missing = values.iter().position(Option::is_none).unwrap_or(total);
            assert!(
                values[first_missing..].iter().all(Option::is_none),
                "{base}: missing values last"
            );
            if filter.contains("headcount_min") {
                assert!(items
                    .iter()
                    .all(|i| headcount(i).is_some_and(|h| (20..=5000).contains(&h))));
            }
            if filter == sectors {
                let wanted: Vec<&str> = sectors["&sector=".len()..].split(',').collect();
                for i in &items {
                    assert!(i["sectors"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|s| wanted.contains(&s.as_str().unwrap())));
                }
            }
        }
    }
    // The CSV export walks the same way.
    let r = get(&app, &format!("/v1/exports/institutes?format=csv{sectors}")).await;
    let count = get_ok(&app, &format!("/v1/institutes?limit=1{sectors}")).await["total"]
        .as_u64()
        .unwrap() as usize;
    let text = String::from_utf8(r.body).unwrap();
    assert_eq!(text.matches("\r\n").count(), count + 1);
}

/// Totals and aggregates are remembered between requests, and never outlive a write.
#[actix_rt::test]
async fn remembered_totals_and_aggregates_follow_every_write() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "alice", "editor");
    let before = get_ok(&app, "/v1/institutes?country=NZ&limit=1").await["total"]
        .as_i64()
        .unwrap();
    let stats = get_ok(&app, "/v1/stats?group_by=country&country=NZ").await;
    let countries = get_ok(&app, "/v1/countries").await;
    let r = post_json(
        &app,
        "/v1/institutes",
        &k,
        serde_json::json!({"name": "Aotearoa Test Institute", "kind": "non_profit", "country": "NZ"}),
    )
    .await;
    assert_eq!(r.status, 201);
    let after = get_ok(&app, "/v1/institutes?country=NZ&limit=1").await["total"]
        .as_i64()
        .unwrap();
    assert_eq!(after, before + 1);
    let stats_after = get_ok(&app, "/v1/stats?group_by=country&country=NZ").await;
    assert_eq!(
        stats_after["count"].as_i64().unwrap(),
        stats["count"].as_i64().unwrap() + 1
    );
    let countries_after = get_ok(&app, "/v1/countries").await;
    let nz = |c: &Value| {
        c["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["code"] == "NZ")
            .map(|i| i["institutes"].as_i64().unwrap())
            .unwrap_or(0)
    };
    assert_eq!(nz(&countries_after), nz(&countries) + 1);

    // An edit of free text keeps the remembered figures, but not a total by update time.
    let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let since_uri = format!("/v1/institutes?updated_since={since}&limit=1");
    let changed_since = get_ok(&app, &since_uri).await["total"].as_i64().unwrap();
    let slug = r.json()["slug"].as_str().unwrap().to_string();
    let uri = format!("/v1/institutes/{slug}");
    let patched = patch_json(
        &app,
        &uri,
        &k,
        json!({"description": "Free text."}),
        Some("*"),
    )
    .await;
    assert_eq!(patched.status, 200);
    assert_eq!(
        get_ok(&app, &since_uri).await["total"].as_i64().unwrap(),
        changed_since + 1
    );
    let stats_now = get_ok(&app, "/v1/stats?group_by=country&country=NZ").await;
    assert_eq!(stats_now, stats_after);
    // A change of country moves it at once.
    let moved = patch_json(&app, &uri, &k, json!({"country": "AU"}), Some("*")).await;
    assert_eq!(moved.status, 200);
    let total = get_ok(&app, "/v1/institutes?country=NZ&limit=1").await["total"]
        .as_i64()
        .unwrap();
    assert_eq!(total, before);
    let stats_moved = get_ok(&app, "/v1/stats?group_by=country&country=NZ").await;
    assert_eq!(stats_moved["count"], stats["count"]);
    assert_eq!(nz(&get_ok(&app, "/v1/countries").await), nz(&countries));
}

/// `sort=country` and `sort=kind` order by the ISO code and by the kind's word, then by id,
/// and page with cursors like every other sort.
#[actix_rt::test]
async fn sorts_by_country_and_kind() {
    let (_db, _pool, app) = app().await;
    for (sort, field) in [
        ("country", "country"),
        ("-country", "country"),
        ("kind", "kind"),
        ("-kind,name", "kind"),
    ] {
        let items = walk(&app, &format!("/v1/institutes?sort={sort}"), 7).await;
        let total = get_ok(&app, "/v1/institutes?limit=1").await["total"]
            .as_u64()
            .unwrap() as usize;
        assert_eq!(items.len(), total, "{sort}");
        let values: Vec<&str> = items.iter().map(|i| i[field].as_str().unwrap()).collect();
        let descending = sort.starts_with('-');
        assert!(
            values.windows(2).all(|w| if descending {
                w[0] >= w[1]
            } else {
                w[0] <= w[1]
            }),
            "{sort}: {values:?}"
        );
    }
}
