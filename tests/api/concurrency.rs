//! Many writers with the same `If-Match`: exactly one wins, the others get 412, and the record
//! holds exactly the winner's change.

use crate::common::*;
use futures_util::future::join_all;
use serde_json::json;

const WRITERS: usize = 24;

#[actix_rt::test]
async fn concurrent_patches_with_one_etag_have_exactly_one_winner() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "racer", "editor");
    let start = get(&app, "/v1/institutes/amii").await;
    let tag = start.header("etag").unwrap();
    let version = start.json()["version"].as_i64().unwrap();
    let written_before = get_ok(&app, "/v1/institutes/amii/history").await["total"]
        .as_i64()
        .unwrap();
    let attempts = (0..WRITERS).map(|i| {
        let app = &app;
        let k = k.clone();
        let tag = tag.clone();
        async move {
            let r = patch_json(
                app,
                "/v1/institutes/amii",
                &k,
                json!({"city": format!("City {i}")}),
                Some(&tag),
            )
            .await;
            (i, r.status.as_u16())
        }
    });
    let results = join_all(attempts).await;
    let winners: Vec<usize> = results
        .iter()
        .filter(|(_, s)| *s == 200)
        .map(|(i, _)| *i)
        .collect();
    let stale = results.iter().filter(|(_, s)| *s == 412).count();
    assert_eq!(winners.len(), 1, "results: {results:?}");
    assert_eq!(stale, WRITERS - 1, "results: {results:?}");
    let end = get_ok(&app, "/v1/institutes/amii").await;
    assert_eq!(end["city"], format!("City {}", winners[0]));
    assert_eq!(end["version"], version + 1);
    let history = get_ok(&app, "/v1/institutes/amii/history").await;
    assert_eq!(
        history["total"],
        written_before + 1,
        "one change, one history row"
    );
}

#[actix_rt::test]
async fn concurrent_parent_changes_never_form_a_cycle() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "racer", "editor");
    for round in 0..5 {
        // Two unlinked institutes each try to become the other's child at the same time.
        let (a, b) = (format!("cycle-a-{round}"), format!("cycle-b-{round}"));
        for slug in [&a, &b] {
            let r = post_json(
                &app,
                "/v1/institutes",
                &k,
                json!({"slug": slug, "name": slug, "kind": "company", "country": "GB"}),
            )
            .await;
            assert_eq!(r.status, 201);
        }
        let (uri_a, uri_b) = (format!("/v1/institutes/{a}"), format!("/v1/institutes/{b}"));
        let first = patch_json(&app, &uri_a, &k, json!({"parent": b}), Some("*"));
        let second = patch_json(&app, &uri_b, &k, json!({"parent": a}), Some("*"));
        let (r1, r2) = futures_util::join!(first, second);
        let statuses = [r1.status.as_u16(), r2.status.as_u16()];
        assert!(
            statuses.contains(&200) && statuses.contains(&400),
            "{statuses:?}"
        );
        let pa = get_ok(&app, &format!("/v1/institutes/{a}")).await;
        let pb = get_ok(&app, &format!("/v1/institutes/{b}")).await;
        assert!(
            pa["parent"].is_null() || pb["parent"].is_null(),
            "a cycle formed"
        );
    }
}
