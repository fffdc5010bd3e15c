//! Candidates for an affiliation string, from the search index: each segment's words together,
//! each pair of neighbouring words, and each distinctive word alone, a few rows each.

use super::rows::InstituteRow;
use super::search::{exact_word, QueryWord, SearchPlan};
use crate::db::schema::institutes;
use crate::db::DbConnection;
use crate::model::matching::{is_distinctive, Affiliation};
use diesel::prelude::*;
use std::collections::HashMap;

/// Rows read per index query.
const PER_QUERY: i64 = 15;
/// At most this many candidates are scored.
const MAX_CANDIDATES: usize = 200;
/// At most this many index queries per affiliation.
const MAX_QUERIES: usize = 40;

/// Institutes that may be what the affiliation names (any status).
pub fn candidates(conn: &mut DbConnection, aff: &Affiliation) -> QueryResult<Vec<InstituteRow>> {
    let backend = conn.backend();
    let mut words: HashMap<String, Option<QueryWord>> = HashMap::new();
    let mut plans: Vec<SearchPlan> = Vec::new();
    for segment in aff.search_words() {
        let mut resolved: Vec<(String, QueryWord)> = Vec::new();
        for w in &segment {
            if !words.contains_key(w) {
                let q = exact_word(conn, w)?;
                words.insert(w.clone(), q);
            }
            if let Some(Some(q)) = words.get(w) {
                resolved.push((w.clone(), q.clone()));
            }
        }
        if resolved.is_empty() {
            continue;
        }
        plans.push(SearchPlan::of_words(
            resolved.iter().map(|(_, q)| q.clone()).collect(),
            backend,
            true,
        ));
        for pair in resolved.windows(2) {
            plans.push(SearchPlan::of_words(
                pair.iter().map(|(_, q)| q.clone()).collect(),
                backend,
                true,
            ));
        }
        for (w, q) in &resolved {
            if is_distinctive(w) {
                plans.push(SearchPlan::of_words(vec![q.clone()], backend, true));
            }
        }
    }
    let mut seen_queries: Vec<String> = Vec::new();
    let mut rows: Vec<InstituteRow> = Vec::new();
    for plan in plans {
        let text = plan.fts_query();
        if seen_queries.contains(&text) {
            continue;
        }
        seen_queries.push(text);
        if seen_queries.len() > MAX_QUERIES || rows.len() >= MAX_CANDIDATES {
            break;
        }
        let found: Vec<InstituteRow> = institutes::table
            .into_boxed()
            .filter(plan.condition())
            .select(InstituteRow::as_select())
            .limit(PER_QUERY)
            .load(conn)?;
        for row in found {
            if !rows.iter().any(|r| r.id == row.id) {
                rows.push(row);
            }
        }
    }
    rows.truncate(MAX_CANDIDATES);
    Ok(rows)
}
