//! Queries and transactions. Every function takes a connection, so the same function runs
//! inside a transaction or on its own. Knows SQL and the model, not HTTP.

pub mod catalog;
pub mod curation;
pub mod history;
pub mod institutes;
pub mod keys;
pub mod reference;
pub mod rows;
pub mod seed;

use chrono::{DateTime, NaiveDateTime, Utc};

pub(crate) fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

pub(crate) fn now() -> NaiveDateTime {
    // Microsecond precision: what both backends store, so a value read back equals the value written.
    let now = Utc::now().naive_utc();
    now.with_nanosecond((now.and_utc().timestamp_subsec_micros()) * 1000)
        .unwrap_or(now)
}

use chrono::Timelike;
