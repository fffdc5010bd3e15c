use crate::common::*;
use diesel::prelude::*;
use institute_registry::db::{revert_all_migrations, run_migrations, schema::institutes};
use institute_registry::store::seed::{seed, seed_if_new, Dataset, SeedReport};
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
    assert_eq!(count, 68);
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
