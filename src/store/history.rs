//! Recording changes, in the transaction that makes them, and reading them back.

use super::utc;
use crate::db::schema::history;
use crate::db::DbConnection;
use crate::model::history::{Action, HistoryEntry, Subject};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Position in a history walk: the last entry's time and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryKeyset {
    pub at: NaiveDateTime,
    pub id: String,
}

type Row = (
    String,
    NaiveDateTime,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// The changes of one institute (itself and its figures), newest first.
pub fn of_institute(
    conn: &mut DbConnection,
    institute_id: &str,
    before: Option<&HistoryKeyset>,
    limit: i64,
) -> QueryResult<(Vec<HistoryEntry>, Option<HistoryKeyset>, i64)> {
    let total = history::table
        .filter(history::institute_id.eq(institute_id))
        .count()
        .get_result::<i64>(conn)?;
    let mut query = history::table
        .filter(history::institute_id.eq(institute_id))
        .select((
            history::id,
            history::at,
            history::actor,
            history::action,
            history::subject,
            history::subject_id,
            history::before,
            history::after,
        ))
        .order((history::at.desc(), history::id.desc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(k) = before {
        query = query.filter(
            history::at
                .lt(k.at)
                .or(history::at.eq(k.at).and(history::id.lt(k.id.clone()))),
        );
    }
    let mut rows: Vec<Row> = query.load(conn)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| HistoryKeyset {
            at: r.1,
            id: r.0.clone(),
        })
    } else {
        None
    };
    let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    let items = rows
        .into_iter()
        .map(
            |(id, at, actor, action, subject, subject_id, b, a)| HistoryEntry {
                id,
                at: utc(at),
                actor,
                action: Action::parse(&action).unwrap_or(Action::Update),
                subject: Subject::parse(&subject).unwrap_or(Subject::Institute),
                subject_id,
                before: parse(b),
                after: parse(a),
            },
        )
        .collect();
    Ok((items, next, total))
}
