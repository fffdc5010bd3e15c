//! Writes of one institute: create, replace or merge-patch, delete or merge.

use super::documents::{self, Document};
use super::rules;
use super::view::DbView;
use super::{check_precondition, write, Tx, WriteError, Written};
use crate::db::schema::{former_slugs, institute_sectors, institutes, tombstones};
use crate::model::changes::ChangeOp;
use crate::model::ids::new_id;
use crate::model::input::{merge_patch, InstituteInput, INSTITUTE_FIELDS};
use crate::model::institute::Institute;
use crate::model::representation::IfMatch;
use crate::store::insert_batch;
use crate::store::rows::{InstituteRow, Placement};
use diesel::prelude::*;
use serde_json::{Map, Value};

/// The record as an input body: what a merge patch applies to. Its input fields as the
/// record shows them, the parent named by slug, nothing null.
pub fn as_input(record: &Institute) -> Value {
    let Ok(Value::Object(shown)) = serde_json::to_value(record) else {
        return Value::Object(Map::new());
    };
    let mut out = Map::new();
    for (key, value) in shown {
        if !INSTITUTE_FIELDS.contains(&key.as_str()) {
            continue;
        }
        let value = match (key.as_str(), value) {
            ("parent", Value::Object(parent)) => parent.get("slug").cloned().unwrap_or_default(),
            ("external_ids", Value::Object(ids)) => {
                Value::Object(ids.into_iter().filter(|(_, v)| !v.is_null()).collect())
            }
            (_, value) => value,
        };
        if !value.is_null() {
            out.insert(key, value);
        }
    }
    Value::Object(out)
}

/// The stored document of a live institute (rendered now if it has none yet).
pub(super) fn current(tx: &mut Tx<'_>, id: &str) -> Result<Document, WriteError> {
    documents::read(tx.conn, id)?.ok_or(WriteError::NotFound)
}

fn row(tx: &mut Tx<'_>, id: &str) -> Result<InstituteRow, WriteError> {
    institutes::table
        .find(id)
        .select(InstituteRow::as_select())
        .first(tx.conn)
        .optional()?
        .ok_or(WriteError::NotFound)
}

/// Checks the input against the registry and writes the institute `id` (a new one when
/// `existing` is None), its sectors and former slug; asks for the documents that show it to
/// be rendered again.
fn save(
    tx: &mut Tx<'_>,
    id: &str,
    input: &InstituteInput,
    existing: Option<&InstituteRow>,
) -> Result<InstituteRow, WriteError> {
    let mut view = DbView { conn: tx.conn };
    let slug = rules::slug(
        &mut view,
        id,
        input.slug.as_deref(),
        existing.map(|e| e.slug.as_str()),
        &input.name,
    )?;
    let parent = match &input.parent {
        Some(reference) => Some(rules::parent(&mut view, id, reference)?),
        None => None,
    };
    if let Some(first) = rules::external_conflicts(&mut view, id, &input.external_ids)?
        .into_iter()
        .next()
    {
        return Err(WriteError::Conflict(first));
    }
    let row = InstituteRow::build(
        input,
        Placement {
            id: id.to_string(),
            slug,
            parent_id: parent,
            created_at: existing.map_or(tx.at, |e| e.created_at),
            updated_at: tx.at,
            version: existing.map_or(1, |e| e.version + 1),
        },
        existing.map(InstituteRow::derived).unwrap_or_default(),
    );
    match existing {
        None => {
            diesel::insert_into(institutes::table)
                .values(&row)
                .execute(tx.conn)?;
        }
        Some(current) => {
            if current.slug != row.slug {
                diesel::delete(former_slugs::table.find(&row.slug)).execute(tx.conn)?;
                diesel::insert_into(former_slugs::table)
                    .values((
                        former_slugs::slug.eq(&current.slug),
                        former_slugs::institute_id.eq(id),
                    ))
                    .execute(tx.conn)?;
            }
            diesel::update(institutes::table.find(id))
                .set(&row)
                .execute(tx.conn)?;
            diesel::delete(institute_sectors::table.filter(institute_sectors::institute_id.eq(id)))
                .execute(tx.conn)?;
        }
    }
    let links: Vec<_> = input
        .sectors
        .iter()
        .map(|s| {
            (
                institute_sectors::institute_id.eq(id),
                institute_sectors::sector.eq(s),
            )
        })
        .collect();
    let conn = &mut *tx.conn;
    insert_batch!(conn, institute_sectors::table, &links, 100);
    relatives(tx, &row, existing)?;
    Ok(row)
}

/// The documents that show an institute besides its own: its parent's (which lists it among
/// its children, by name) and its children's (which name it as their parent).
fn relatives(
    tx: &mut Tx<'_>,
    row: &InstituteRow,
    before: Option<&InstituteRow>,
) -> QueryResult<()> {
    let renamed = before.is_none_or(|b| b.name != row.name || b.slug != row.slug);
    let moved = before.is_none_or(|b| b.parent_id != row.parent_id);
    if renamed || moved {
        for parent in [&row.parent_id, &before.and_then(|b| b.parent_id.clone())]
            .into_iter()
            .flatten()
        {
            tx.rerender(parent);
        }
    }
    if before.is_some() && renamed {
        for child in children_of(tx, &row.id)? {
            tx.rerender(&child);
        }
    }
    Ok(())
}

fn children_of(tx: &mut Tx<'_>, id: &str) -> QueryResult<Vec<String>> {
    institutes::table
        .filter(institutes::parent_id.eq(id))
        .select(institutes::id)
        .load(tx.conn)
}

/// Creates an institute from a body read against the current vocabulary.
pub fn create(
    conn: &mut crate::db::DbConnection,
    body: &Value,
    actor: &str,
) -> Result<Written<Document>, WriteError> {
    let mut w = write(conn, actor, |tx| {
        let vocab = tx.vocabulary()?;
        let input = InstituteInput::read(body, &vocab).map_err(WriteError::Invalid)?;
        let id = new_id("ins");
        let row = save(tx, &id, &input, None)?;
        tx.touch(&id, &row.slug, ChangeOp::Created, Some(None));
        Ok(id)
    })?;
    let doc = w.document(&w.value.clone())?;
    Ok(Written {
        value: doc,
        sequence: w.sequence,
        documents: w.documents,
    })
}

/// How an update turns the current record into the new input.
pub enum Change<'a> {
    /// PUT: the body is the whole new record.
    Replace(&'a Value),
    /// PATCH: an RFC 7396 merge patch applied to the current record.
    MergePatch(&'a Value),
}

/// Replaces or patches an institute, if the precondition admits its current ETag.
pub fn update(
    conn: &mut crate::db::DbConnection,
    id: &str,
    if_match: Option<&IfMatch>,
    change: Change<'_>,
    actor: &str,
) -> Result<Written<Document>, WriteError> {
    let mut w = write(conn, actor, |tx| {
        let before = current(tx, id)?;
        let vocab = tx.vocabulary()?;
        let body = match change {
            Change::Replace(body) => body.clone(),
            Change::MergePatch(patch) => {
                let record = before.record().map_err(|e| {
                    WriteError::Db(diesel::result::Error::DeserializationError(e.into()))
                })?;
                let mut doc = as_input(&record);
                merge_patch(&mut doc, patch);
                doc
            }
        };
        // A malformed body is reported as such whatever the precondition: fix, then retry.
        let input = InstituteInput::read(&body, &vocab).map_err(WriteError::Invalid)?;
        check_precondition(if_match, &before.etag)?;
        let existing = row(tx, id)?;
        let row = save(tx, id, &input, Some(&existing))?;
        tx.touch(id, &row.slug, ChangeOp::Updated, Some(Some(before.json)));
        Ok(())
    })?;
    let doc = w.document(id)?;
    Ok(Written {
        value: doc,
        sequence: w.sequence,
        documents: w.documents,
    })
}

/// Deletes an institute (its figures with it), leaving a tombstone; when `merged_into` is
/// given, its children move to the successor and its address answers 410 with a pointer.
pub fn delete(
    conn: &mut crate::db::DbConnection,
    id: &str,
    if_match: Option<&IfMatch>,
    merged_into: Option<&str>,
    actor: &str,
) -> Result<Written<()>, WriteError> {
    write(conn, actor, |tx| {
        let before = current(tx, id)?;
        check_precondition(if_match, &before.etag)?;
        let existing = row(tx, id)?;
        let successor = match merged_into {
            Some(reference) => {
                let Some(successor) = crate::store::institutes::resolve_live(tx.conn, reference)?
                else {
                    return Err(WriteError::invalid(
                        "merged_into",
                        format!("no institute has the id or slug '{reference}'"),
                    ));
                };
                if successor == id {
                    return Err(WriteError::invalid(
                        "merged_into",
                        "an institute cannot merge into itself",
                    ));
                }
                Some(successor)
            }
            None => None,
        };
        // Children move to the successor, unless that would make a cycle (the successor and
        // its ancestors stay where they are, without a parent).
        let mut lineage = Vec::new();
        let mut cursor = successor.clone();
        let mut view = DbView { conn: tx.conn };
        while let Some(current) = cursor {
            if lineage.contains(&current) {
                break;
            }
            cursor = super::view::View::parent_of(&mut view, &current)?;
            lineage.push(current);
        }
        for child in children_of(tx, id)? {
            let child_before = current(tx, &child)?;
            let new_parent = successor.clone().filter(|_| !lineage.contains(&child));
            diesel::update(institutes::table.find(&child))
                .set((
                    institutes::parent_id.eq(&new_parent),
                    institutes::version.eq(institutes::version + 1),
                    institutes::updated_at.eq(tx.at),
                ))
                .execute(tx.conn)?;
            tx.touch(
                &child,
                &child_before.slug,
                ChangeOp::Updated,
                Some(Some(child_before.json)),
            );
        }
        for relative in [&successor, &existing.parent_id].into_iter().flatten() {
            tx.rerender(relative);
        }
        diesel::insert_into(tombstones::table)
            .values((
                tombstones::id.eq(id),
                tombstones::slug.eq(&existing.slug),
                tombstones::merged_into.eq(&successor),
                tombstones::deleted_at.eq(tx.at),
            ))
            .execute(tx.conn)?;
        diesel::delete(institutes::table.find(id)).execute(tx.conn)?;
        tx.remove(id, &existing.slug, successor.as_deref(), before.json);
        Ok(())
    })
}
