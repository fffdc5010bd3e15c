//! Search (`q`) and suggestions.

use crate::common::*;
use serde_json::{json, Value};
use std::collections::HashSet;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn slugs(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["slug"].as_str().unwrap().to_string())
        .collect()
}

#[actix_rt::test]
async fn search_ranks_exact_then_prefix_then_words_and_ignores_case_and_accents() {
    let (_db, _pool, app) = app().await;
    // An acronym is an exact match, ahead of names that merely contain the word.
    let page = get_ok(&app, "/v1/institutes?q=mila").await;
    assert_eq!(slugs(&page)[0], "mila");
    // Accents and case do not matter, either way round.
    for q in ["cote d azur", "CÔTE D'AZUR", "Côte"] {
        let page = get_ok(&app, &format!("/v1/institutes?q={}", enc(q))).await;
        assert_eq!(slugs(&page), vec!["3ia-cote-d-azur"], "q={q}");
    }
    let page = get_ok(&app, "/v1/institutes?q=tubingen").await;
    assert!(
        slugs(&page).contains(&"ellis-institute-tubingen".to_string()),
        "{page}"
    );
    // Word prefixes, in any order.
    let page = get_ok(&app, &format!("/v1/institutes?q={}", enc("tur alan"))).await;
    assert_eq!(slugs(&page), vec!["alan-turing-institute"]);
    // A name that starts with the query ranks before names that only contain its words.
    let page = get_ok(&app, "/v1/institutes?q=vector&limit=100").await;
    assert_eq!(slugs(&page)[0], "vector-institute");
    // Every match is counted and listed once, and only matches are listed.
    let page = get_ok(&app, "/v1/institutes?q=institute&limit=100&status=all").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(page["total"].as_u64().unwrap() as usize, items.len());
    assert!(items.len() > 10);
    for i in items {
        let text = format!("{} {} {}", i["name"], i["acronym"], i["aliases"]).to_lowercase();
        assert!(text.contains("institut"), "{text}");
    }
}

#[actix_rt::test]
async fn search_tolerates_typos_but_ranks_them_last() {
    let (_db, _pool, app) = app().await;
    for q in ["turring", "alan turnig", "vectr institute"] {
        let page = get_ok(&app, &format!("/v1/institutes?q={}", enc(q))).await;
        let found = slugs(&page);
        assert!(
            found.contains(&"alan-turing-institute".to_string())
                || found.contains(&"vector-institute".to_string()),
            "q={q}: {found:?}"
        );
    }
    // Words of fewer than four letters are never "corrected".
    let page = get_ok(&app, "/v1/institutes?q=xqz").await;
    assert_eq!(page["total"], 0);
    assert!(page["items"].as_array().unwrap().is_empty());
}

#[actix_rt::test]
async fn search_combines_with_filters_sorts_and_cursors() {
    let (_db, _pool, app) = app().await;
    let page = get_ok(&app, "/v1/institutes?q=institute&country=US&sort=-founded").await;
    for i in page["items"].as_array().unwrap() {
        assert_eq!(i["country"], "US");
    }
    let founded: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["founded"].as_i64())
        .collect();
    assert!(founded.windows(2).all(|w| w[0] >= w[1]), "{founded:?}");
    // Walking the relevance order in small pages yields each match once, in rank order.
    let all = walk(&app, "/v1/institutes?q=ai&status=all", 3).await;
    let whole = get_ok(&app, "/v1/institutes?q=ai&status=all&limit=100").await;
    assert_eq!(all.len() as u64, whole["total"].as_u64().unwrap());
    let ids: HashSet<&str> = all.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), all.len());
    assert_eq!(&all, whole["items"].as_array().unwrap());
    // The typo-tolerant order pages too.
    let fuzzy = walk(&app, "/v1/institutes?q=institue&status=all", 4).await;
    assert!(fuzzy.len() > 4);
}

#[actix_rt::test]
async fn search_parameters_are_checked() {
    let (_db, _pool, app) = app().await;
    let r = get(&app, "/v1/institutes?sort=relevance").await;
    assert_eq!(r.problem(400)["errors"][0]["field"], "sort");
    let r = get(&app, &format!("/v1/institutes?q={}", "a".repeat(201))).await;
    assert_eq!(r.fields(), vec!["q"]);
    let r = get(&app, "/v1/institutes?q=%21%21%21").await;
    assert_eq!(r.fields(), vec!["q"]);
    let r = get(&app, "/v1/institutes?q=mila&q=amii").await;
    assert_eq!(r.fields(), vec!["q"]);
    // A relevance cursor is refused under another sort.
    let page = get_ok(&app, "/v1/institutes?q=ai&limit=2").await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let r = get(
        &app,
        &format!("/v1/institutes?q=ai&sort=name&cursor={cursor}"),
    )
    .await;
    assert_eq!(r.fields(), vec!["cursor"]);
}

#[actix_rt::test]
async fn written_names_are_searchable_at_once() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "alice", "editor");
    let r = post_json(
        &app,
        "/v1/institutes",
        &k,
        json!({"name": "Zyxwv Centre for Ünusual Research", "acronym": "ZCUR",
               "aliases": ["Qwerty Lab"], "kind": "non_profit", "country": "FR"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let slug = r.json()["slug"].as_str().unwrap().to_string();
    for q in ["zyxwv", "unusual", "zcur", "qwerty"] {
        let page = get_ok(&app, &format!("/v1/institutes?q={q}")).await;
        assert_eq!(slugs(&page), vec![slug.clone()], "q={q}");
    }
    // A change that leaves the names alone leaves it found by them, with its new figures.
    let r = patch_json(
        &app,
        &format!("/v1/institutes/{slug}"),
        &k,
        json!({"country": "DE", "description": "Moved."}),
        Some("*"),
    )
    .await;
    assert_eq!(r.status, 200);
    for q in ["zyxwv", "zcur", "qwerty"] {
        let page = get_ok(&app, &format!("/v1/institutes?q={q}&country=DE")).await;
        assert_eq!(slugs(&page), vec![slug.clone()], "q={q}");
    }
    let r = patch_json(
        &app,
        &format!("/v1/institutes/{slug}"),
        &k,
        json!({"aliases": ["Asdfgh Lab"]}),
        Some("*"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(get_ok(&app, "/v1/institutes?q=qwerty").await["total"], 0);
    assert_eq!(get_ok(&app, "/v1/institutes?q=asdfgh").await["total"], 1);
    let r = delete(&app, &format!("/v1/institutes/{slug}"), &k).await;
    assert_eq!(r.status, 204);
    assert_eq!(get_ok(&app, "/v1/institutes?q=zyxwv").await["total"], 0);
    // Endpoint names cannot become slugs.
    let r = post_json(
        &app,
        "/v1/institutes",
        &k,
        json!({"name": "Match", "slug": "match", "kind": "non_profit", "country": "FR"}),
    )
    .await;
    assert_eq!(r.fields(), vec!["/slug"]);
}

#[actix_rt::test]
async fn suggest_completes_what_is_typed() {
    let (_db, _pool, app) = app().await;
    let s = get_ok(&app, "/v1/institutes/suggest?q=tur").await;
    assert_eq!(s["items"][0]["slug"], "alan-turing-institute");
    assert_eq!(s["items"][0]["match"], "words");
    let s = get_ok(&app, "/v1/institutes/suggest?q=Vector").await;
    assert_eq!(s["items"][0]["slug"], "vector-institute");
    assert_eq!(s["items"][0]["match"], "exact");
    let s = get_ok(&app, "/v1/institutes/suggest?q=i&limit=3").await;
    assert_eq!(s["items"].as_array().unwrap().len(), 3);
    let r = get(&app, "/v1/institutes/suggest").await;
    assert_eq!(r.fields(), vec!["q"]);
    let r = get(&app, "/v1/institutes/suggest?q=tur&limit=21&x=1").await;
    assert_eq!(r.fields(), vec!["x"]);
    let r = get(&app, "/v1/institutes/suggest?q=tur&limit=21").await;
    assert_eq!(r.fields(), vec!["limit"]);
}

#[actix_rt::test]
async fn equal_ranks_follow_the_names_as_they_change() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "alice", "editor");
    let mut made = Vec::new();
    for name in [
        "Qqbeta Lab of Tiebreak",
        "Qqalpha Lab of Tiebreak",
        "Qqgamma Lab of Tiebreak",
    ] {
        let r = post_json(
            &app,
            "/v1/institutes",
            &k,
            json!({"name": name, "kind": "non_profit", "country": "FR"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        made.push(r.json()["slug"].as_str().unwrap().to_string());
    }
    let (beta, alpha, gamma) = (made[0].clone(), made[1].clone(), made[2].clone());
    // The same words in names of the same length rank alike: the names decide, in a search,
    // in its pages and in completions.
    let check = |want: Vec<String>| {
        let app = &app;
        async move {
            let page = get_ok(app, "/v1/institutes?q=tiebreak").await;
            assert_eq!(slugs(&page), want, "{page}");
            let walked: Vec<String> = walk(app, "/v1/institutes?q=tiebreak", 1)
                .await
                .iter()
                .map(|i| i["slug"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(walked, want);
            let s = get_ok(app, "/v1/institutes/suggest?q=tiebr").await;
            let suggested: Vec<String> = s["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["slug"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(suggested, want);
        }
    };
    check(vec![alpha.clone(), beta.clone(), gamma.clone()]).await;
    // A rename moves a record within its rank; a new record and a deletion shift the rest.
    let r = patch_json(
        &app,
        &format!("/v1/institutes/{gamma}"),
        &k,
        json!({"name": "Qqaaa Lab of Tiebreak"}),
        Some("*"),
    )
    .await;
    assert_eq!(r.status, 200);
    check(vec![gamma.clone(), alpha.clone(), beta.clone()]).await;
    let r = post_json(
        &app,
        "/v1/institutes",
        &k,
        json!({"name": "Qqalphb Lab of Tiebreak", "kind": "non_profit", "country": "FR"}),
    )
    .await;
    assert_eq!(r.status, 201);
    let alphb = r.json()["slug"].as_str().unwrap().to_string();
    check(vec![
        gamma.clone(),
        alpha.clone(),
        alphb.clone(),
        beta.clone(),
    ])
    .await;
    let r = delete(&app, &format!("/v1/institutes/{alpha}"), &k).await;
    assert_eq!(r.status, 204);
    check(vec![gamma.clone(), alphb.clone(), beta.clone()]).await;
    // The acronym is an exact match, ahead of every name.
    let r = patch_json(
        &app,
        &format!("/v1/institutes/{beta}"),
        &k,
        json!({"acronym": "TIEBREAK"}),
        Some("*"),
    )
    .await;
    assert_eq!(r.status, 200);
    check(vec![beta.clone(), gamma.clone(), alphb.clone()]).await;
    let s = get_ok(&app, "/v1/institutes/suggest?q=tiebreak").await;
    assert_eq!(s["items"][0]["match"], "exact");
    assert_eq!(s["items"][1]["match"], "words");
}
