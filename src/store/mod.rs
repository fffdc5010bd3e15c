//! Queries and transactions. Every function takes a connection, so the same function runs
//! inside a transaction or on its own. Knows SQL and the model, not HTTP.

pub mod changes;
pub mod generate;
pub mod history;
pub mod institutes;
pub mod keys;
pub mod matching;
pub mod projection;
pub mod reference;
pub mod rows;
pub mod seed;
pub mod write;

use chrono::{DateTime, NaiveDateTime, Utc};

/// Whether a reference from a client could name a record at all: bounded, no control
/// characters (PostgreSQL refuses a NUL byte in text, which must not become a 500).
pub fn plausible_ref(reference: &str) -> bool {
    !reference.is_empty() && reference.len() <= 200 && !reference.chars().any(char::is_control)
}

pub(crate) fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

pub(crate) fn now() -> NaiveDateTime {
    micros(Utc::now().naive_utc())
}

/// A time at microsecond precision: what both backends store, so a value read back equals
/// the value written.
pub(crate) fn micros(t: NaiveDateTime) -> NaiveDateTime {
    t.with_nanosecond(t.and_utc().timestamp_subsec_micros() * 1000)
        .unwrap_or(t)
}

use chrono::Timelike;

/// Inserts many rows in multi-row statements, in chunks that keep under both backends' limit
/// on bound parameters. (The connection enum has no batch insert: it runs on the inner one.)
macro_rules! insert_batch {
    ($conn:expr, $table:expr, $rows:expr, $chunk:expr) => {{
        let mut inserted = 0usize;
        for chunk in $rows.chunks($chunk) {
            inserted += match $conn {
                crate::db::DbConnection::Sqlite(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?
                }
                crate::db::DbConnection::Postgresql(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?
                }
            };
        }
        inserted
    }};
}
pub(crate) use insert_batch;
