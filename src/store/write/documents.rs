//! Stored documents: each institute's public representation (its JSON, as `GET
//! /v1/institutes/{ref}` answers it), rendered by the write that changed it and kept with the
//! record, with its ETag and the number of the change that rendered it. A point read is one
//! indexed lookup; a page is one lookup of its ids.

use crate::db::schema::institutes;
use crate::db::DbConnection;
use crate::model::institute::Institute;
use crate::model::money::Rates;
use crate::model::representation::etag;
use crate::store::institutes::assemble;
use crate::store::rows::InstituteRow;
use diesel::prelude::*;
use std::collections::HashMap;

/// One institute's stored representation.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: String,
    pub slug: String,
    pub etag: String,
    /// The record's JSON text.
    pub json: String,
    /// The change that rendered it.
    pub seq: i64,
}

impl Document {
    /// The document of a record (its sequence number is set when it is stored).
    pub fn of(record: &Institute) -> Document {
        let json = serde_json::to_string(record).unwrap_or_default();
        Document {
            id: record.id.clone(),
            slug: record.slug.clone(),
            etag: etag(json.as_bytes()),
            json,
            seq: 0,
        }
    }

    /// The record it holds.
    pub fn record(&self) -> serde_json::Result<Institute> {
        serde_json::from_str(&self.json)
    }
}

/// Renders, from their stored rows, the documents of those of `ids` that exist.
pub fn render(
    conn: &mut DbConnection,
    ids: &[String],
    rates: &Rates,
) -> QueryResult<HashMap<String, Document>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows: Vec<InstituteRow> = institutes::table
            .filter(institutes::id.eq_any(chunk))
            .select(InstituteRow::as_select())
            .load(conn)?;
        for record in assemble(conn, rows, rates)? {
            out.insert(record.id.clone(), Document::of(&record));
        }
    }
    Ok(out)
}

/// The stored ETags of those of `ids` that exist.
pub fn stored_etags(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<HashMap<String, String>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        out.extend(
            institutes::table
                .filter(institutes::id.eq_any(chunk))
                .select((institutes::id, institutes::etag))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(out)
}

/// Stores a rendered document as the change `seq` made it.
pub fn store(conn: &mut DbConnection, doc: &Document, seq: i64) -> QueryResult<()> {
    diesel::update(institutes::table.find(&doc.id))
        .set((
            institutes::document.eq(&doc.json),
            institutes::etag.eq(&doc.etag),
            institutes::seq.eq(seq),
        ))
        .execute(conn)?;
    Ok(())
}

type Stored = (String, String, String, String, i64);

fn from_stored((id, slug, etag, json, seq): Stored) -> Document {
    Document {
        id,
        slug,
        etag,
        json,
        seq,
    }
}

/// The stored document of a live institute, by id.
pub fn get(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Document>> {
    use institutes::dsl as i;
    i::institutes
        .find(id)
        .select((i::id, i::slug, i::etag, i::document, i::seq))
        .first::<Stored>(conn)
        .optional()
        .map(|d| d.map(from_stored))
}

/// The stored document of the live institute whose id or slug is `reference` (what most
/// point reads name), in one lookup; none for any other reference (an old slug, a ROR id, a
/// deleted record: [`crate::store::resolve`] says which) or a row without its document yet.
pub fn by_reference(conn: &mut DbConnection, reference: &str) -> QueryResult<Option<Document>> {
    use institutes::dsl as i;
    if !crate::store::plausible_ref(reference) {
        return Ok(None);
    }
    let found = i::institutes
        .filter(i::id.eq(reference).or(i::slug.eq(reference)))
        .select((i::id, i::slug, i::etag, i::document, i::seq))
        .first::<Stored>(conn)
        .optional()?;
    Ok(found.map(from_stored).filter(|d| !d.json.is_empty()))
}

/// The document of a live institute: the stored one, or (for a row written before documents
/// were stored, until the backfill at start renders it) one rendered now.
pub fn read(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Document>> {
    let Some(doc) = get(conn, id)? else {
        return Ok(None);
    };
    if !doc.json.is_empty() {
        return Ok(Some(doc));
    }
    let rates = crate::store::reference::rates(conn)?;
    Ok(render(conn, &[id.to_string()], &rates)?.remove(id))
}

/// The stored documents of those of `ids` that are live, in no particular order.
pub fn get_many(conn: &mut DbConnection, ids: &[&str]) -> QueryResult<Vec<Document>> {
    use institutes::dsl as i;
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        out.extend(
            i::institutes
                .filter(i::id.eq_any(chunk))
                .select((i::id, i::slug, i::etag, i::document, i::seq))
                .load::<Stored>(conn)?
                .into_iter()
                .map(from_stored),
        );
    }
    Ok(out)
}

/// Renders the documents of rows that have none (rows written before documents were stored),
/// under the write lock; returns how many. Their changes are already in the sequence.
pub fn backfill(conn: &mut DbConnection) -> QueryResult<usize> {
    let missing: Vec<String> = institutes::table
        .filter(institutes::document.eq(""))
        .select(institutes::id)
        .load(conn)?;
    if missing.is_empty() {
        return Ok(0);
    }
    conn.transaction(|conn| {
        super::lock(conn)?;
        let rates = crate::store::reference::rates(conn)?;
        let mut done = 0;
        for chunk in missing.chunks(1000) {
            for doc in render(conn, chunk, &rates)?.into_values() {
                diesel::update(institutes::table.find(&doc.id))
                    .filter(institutes::document.eq(""))
                    .set((
                        institutes::document.eq(&doc.json),
                        institutes::etag.eq(&doc.etag),
                    ))
                    .execute(conn)?;
                done += 1;
            }
        }
        Ok(done)
    })
}

/// Fills the comparable budget's year of rows that have a comparable budget but no year (rows
/// written before the year was kept, whose documents were not rendered when the migration
/// ran), from their documents; returns how many. Run after [`backfill`].
pub fn backfill_budget_years(conn: &mut DbConnection) -> QueryResult<usize> {
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "UPDATE institutes SET comparable_budget_year = \
             json_extract(document, '$.latest_budget.year') \
             WHERE comparable_budget_usd IS NOT NULL AND comparable_budget_year IS NULL \
             AND document <> ''"
        }
        DbConnection::Postgresql(_) => {
            "UPDATE institutes SET comparable_budget_year = \
             (document::jsonb #>> '{latest_budget,year}')::integer \
             WHERE comparable_budget_usd IS NOT NULL AND comparable_budget_year IS NULL \
             AND document <> ''"
        }
    };
    diesel::sql_query(sql).execute(conn)
}
