use crate::common::*;
use diesel::prelude::*;
use institute_registry::db::{revert_all_migrations, run_migrations, schema::institutes};
use institute_registry::store::seed::{seed, seed_if_new, Dataset, SeedReport};
use serde_json::Value;
use std::collections::HashSet;

#[test]
fn seeding_is_idempotent() {
    let (_db, pool) = seeded();
    let mut conn = pool.get().unwrap();
    let data = Dataset::embedded().unwrap();
    assert_eq!(
        seed_if_new(&mut conn, &data).unwrap(),
        None,
        "a seeded database is not seeded again"
    );
    assert_eq!(
        seed(&mut conn, &data).unwrap(),
        SeedReport::default(),
        "nothing missing, nothing added"
    );
    let count: i64 = institutes::table.count().get_result(&mut conn).unwrap();
    assert_eq!(count as usize, data.institutes.len());
}

#[test]
fn seed_recreates_what_is_missing_only() {
    let (_db, pool) = seeded();
    let mut conn = pool.get().unwrap();
    diesel::delete(institutes::table.filter(institutes::slug.eq("kyutai")))
        .execute(&mut conn)
        .unwrap();
    let report = seed(&mut conn, &Dataset::embedded().unwrap()).unwrap();
    assert_eq!(report.institutes, 1);
    assert_eq!(report.programs, 0);
}

#[test]
fn migrations_are_reversible() {
    let test_db = TestDb::new();
    let pool = test_db.pool(1);
    let mut conn = pool.get().unwrap();
    assert!(revert_all_migrations(&mut conn).unwrap() >= 1);
    assert!(run_migrations(&mut conn).unwrap() >= 1);
    let data = Dataset::embedded().unwrap();
    assert!(seed_if_new(&mut conn, &data).unwrap().is_some());
}

#[test]
fn foreign_keys_are_enforced() {
    let (_db, pool) = seeded();
    let mut conn = pool.get().unwrap();
    let bad = diesel::update(institutes::table.filter(institutes::slug.eq("kyutai")))
        .set(institutes::country.eq("QQ"))
        .execute(&mut conn);
    assert!(
        bad.is_err(),
        "a country outside the list is refused by the database"
    );
    let bad = diesel::update(institutes::table.filter(institutes::slug.eq("kyutai")))
        .set(institutes::parent_id.eq("ins_missing"))
        .execute(&mut conn);
    assert!(
        bad.is_err(),
        "a parent that does not exist is refused by the database"
    );
}

#[actix_rt::test]
async fn pages_stay_exact_while_records_come_and_go() {
    let (_db, pool, app) = app().await;
    let mut seen = HashSet::new();
    let before: HashSet<String> = {
        let mut conn = pool.get().unwrap();
        institutes::table
            .select(institutes::id)
            .load(&mut conn)
            .unwrap()
            .into_iter()
            .collect()
    };
    let mut uri = "/v1/institutes?status=all&limit=10".to_string();
    let mut round = 0;
    loop {
        let page = get_ok(&app, &uri).await;
        for item in page["items"].as_array().unwrap() {
            assert!(seen.insert(item["id"].as_str().unwrap().to_string()));
        }
        // Between pages: an insert that sorts first and one that sorts last.
        {
            let mut conn = pool.get().unwrap();
            let now = chrono::Utc::now().naive_utc();
            for name in [format!("aaa {round}"), format!("zzz {round}")] {
                diesel::insert_into(institutes::table)
                    .values((
                        institutes::id.eq(format!("ins_test{round}{}", &name[..1])),
                        institutes::slug.eq(format!("test-{round}-{}", &name[..1])),
                        institutes::name.eq(&name),
                        institutes::sort_name.eq(&name),
                        institutes::kind.eq("company"),
                        institutes::status.eq("active"),
                        institutes::country.eq("GB"),
                        institutes::created_at.eq(now),
                        institutes::updated_at.eq(now),
                    ))
                    .execute(&mut conn)
                    .unwrap();
            }
        }
        round += 1;
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("/v1/institutes?status=all&limit=10&cursor={c}"),
            None => break,
        }
    }
    let seen_before: HashSet<String> = seen.intersection(&before).cloned().collect();
    assert_eq!(
        seen_before, before,
        "every record present throughout is seen exactly once"
    );
}

#[test]
fn every_seed_record_passes_the_write_rules() {
    use institute_registry::model::input::InstituteInput;
    use institute_registry::store::write::{institutes as curation, vocabulary};
    use institute_registry::store::{institutes as store, reference};
    let (_db, pool) = seeded();
    let mut conn = pool.get().unwrap();
    let vocab = vocabulary(&mut conn).unwrap();
    let rates = reference::rates(&mut conn).unwrap();
    let ids: Vec<String> = institutes::table
        .select(institutes::id)
        .load(&mut conn)
        .unwrap();
    for id in ids {
        let record = store::get(&mut conn, &id, &rates).unwrap().unwrap();
        let body = curation::as_input(&record);
        if let Err(errors) = InstituteInput::read(&body, &vocab) {
            panic!("{}: {errors:?}", record.slug);
        }
    }
}

#[test]
fn processes_starting_at_once_migrate_a_new_database_once() {
    let test_db = TestDb::new();
    let url = test_db.url.clone();
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || institute_registry::db::connect(&url, 1).map(|_| ()))
        })
        .collect();
    for start in starts {
        start
            .join()
            .unwrap()
            .expect("every process starts on the new database");
    }
    let pool = test_db.pool(1);
    let mut conn = pool.get().unwrap();
    assert_eq!(
        institute_registry::db::run_migrations(&mut conn).unwrap(),
        0
    );
}

/// A registry seeded from the first version of the seed (68 institutes) is brought up to
/// this build's seed at the next start: new institutes added, corrections applied to the
/// records only the seed ever changed, curators' edits left alone and named.
#[actix_rt::test]
async fn an_earlier_seed_is_upgraded_without_losing_curators_edits() {
    let test_db = TestDb::new();
    let pool = test_db.pool(4);
    let now = Dataset::embedded().unwrap();
    let earlier = Dataset::embedded()
        .unwrap()
        .with_institutes(include_str!("../data/seed-v1/institutes.json"))
        .unwrap();
    assert_ne!(earlier.digest, now.digest);
    let first = seed_if_new(&mut pool.get().unwrap(), &earlier)
        .unwrap()
        .expect("a new database is seeded");
    assert_eq!(first.institutes, earlier.institutes.len());

    // A curator edits Mila and deletes Kyutai; nobody touches the Turing.
    let app = actix_web::test::init_service(institute_registry::api::build_app(
        institute_registry::api::AppState::new(pool.clone(), &test_db.url).unwrap(),
    ))
    .await;
    let k = key(&pool, "curator", "editor");
    let r = patch_json(
        &app,
        "/v1/institutes/mila",
        &k,
        serde_json::json!({"description": "A curator's description."}),
        Some("*"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = delete(&app, "/v1/institutes/kyutai", &k).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    let turing = get_ok(&app, "/v1/institutes/alan-turing-institute").await;
    assert_eq!(turing["external_ids"]["ror"], serde_json::Value::Null);
    drop(app);

    // The next start, with this build's seed.
    let report = seed_if_new(&mut pool.get().unwrap(), &now)
        .unwrap()
        .expect("an earlier seed is upgraded");
    let earlier_slugs: HashSet<&str> = earlier.institutes.iter().map(|i| i.slug.as_str()).collect();
    let added = now
        .institutes
        .iter()
        .filter(|i| !earlier_slugs.contains(i.slug.as_str()))
        .count();
    assert!(added > 0);
    assert_eq!(report.institutes, added, "{report}");
    assert_eq!(report.kept, vec!["mila".to_string()], "{report}");
    assert!(report.updated >= 1, "{report}");
    assert!(report
        .to_string()
        .contains("left alone, as edited since seeding: mila"));
    // Upgraded once: the next start changes nothing; seeding again finds nothing to do.
    assert_eq!(seed_if_new(&mut pool.get().unwrap(), &now).unwrap(), None);
    let again = seed(&mut pool.get().unwrap(), &now).unwrap();
    assert_eq!((again.institutes, again.updated), (0, 0), "{again}");
    assert_eq!(again.kept, vec!["mila".to_string()]);

    // What a client sees.
    let app = actix_web::test::init_service(institute_registry::api::build_app(
        institute_registry::api::AppState::new(pool.clone(), &test_db.url).unwrap(),
    ))
    .await;
    let list = get_ok(&app, "/v1/institutes?limit=1").await;
    assert_eq!(
        list["total"],
        now.institutes.len() - 1,
        "all but the deleted Kyutai"
    );
    assert_eq!(
        get(&app, "/v1/institutes/kyutai").await.status,
        404,
        "still deleted"
    );
    let mila = get_ok(&app, "/v1/institutes/mila").await;
    assert_eq!(mila["description"], "A curator's description.");
    // The Turing, corrected: its ROR id (lookup by external id finds it), the op-ed's
    // researchers as a second headcount, a description that describes it.
    let turing = get_ok(&app, "/v1/institutes/ror:035dkdb55").await;
    assert_eq!(turing["slug"], "alan-turing-institute");
    let series = get_ok(&app, "/v1/institutes/alan-turing-institute/headcounts").await;
    let counts: Vec<(i64, Value, Value)> = series["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["year"].as_i64().unwrap(),
                h["staff"].clone(),
                h["researchers"].clone(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![
            (2024, Value::from(440), Value::Null),
            (2025, Value::Null, Value::from(400))
        ]
    );
    assert!(turing["description"]
        .as_str()
        .unwrap()
        .starts_with("UK national institute for data science and artificial intelligence"));
    // An institute new in this seed.
    let bifold = get_ok(&app, "/v1/institutes/bifold").await;
    assert_eq!(bifold["country"], "DE");
}
