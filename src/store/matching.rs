//! What the affiliation matcher needs of every institute, read in one query.

use crate::db::schema::institutes;
use crate::db::DbConnection;
use crate::model::matching::MatchEntry;
use diesel::prelude::*;
use std::collections::HashMap;

type Row = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
);

/// Every institute (any status) as the matcher indexes it, with its parent's name and acronym.
pub fn entries(conn: &mut DbConnection) -> QueryResult<Vec<MatchEntry>> {
    let rows: Vec<Row> = institutes::table
        .select((
            institutes::id,
            institutes::slug,
            institutes::name,
            institutes::acronym,
            institutes::aliases,
            institutes::country,
            institutes::city,
            institutes::status,
            institutes::parent_id,
        ))
        .load(conn)?;
    let names: HashMap<&str, (&str, Option<&str>)> = rows
        .iter()
        .map(|r| (r.0.as_str(), (r.2.as_str(), r.3.as_deref())))
        .collect();
    Ok(rows
        .iter()
        .map(|r| MatchEntry {
            id: r.0.clone(),
            slug: r.1.clone(),
            name: r.2.clone(),
            acronym: r.3.clone(),
            aliases: serde_json::from_str(&r.4).unwrap_or_default(),
            country: r.5.clone(),
            city: r.6.clone(),
            status: r.7.clone(),
            parent: r
                .8
                .as_deref()
                .and_then(|p| names.get(p))
                .map(|(n, a)| (n.to_string(), a.map(str::to_string))),
        })
        .collect())
}
