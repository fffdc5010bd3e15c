//! The one write path. Every writer — HTTP curation, `import`, `seed`, `generate` and the
//! reference data — changes the registry through a [`Tx`]: one transaction that takes the
//! registry's write lock first, reads the time from the database's clock, checks the write
//! against the registry's rules (`rules`, written once over a [`view::View`] of the registry),
//! writes rows, renders the stored document of every institute whose representation changed,
//! records history, and appends to the change sequence. Sequence numbers are assigned under
//! the write lock, so their order is commit order on both backends.

pub mod catalog;
pub mod documents;
pub mod figures;
pub mod import;
pub mod institutes;
pub mod rules;
pub mod view;

use super::rows::{ChangeRow, HistoryRow};
use super::{insert_batch, now};
use crate::db::schema::{changes, registry_meta};
use crate::db::{Backend, DbConnection};
use crate::model::changes::{ChangeOp, Resource};
use crate::model::history::{Action, Subject};
use crate::model::ids::new_id;
use crate::model::input::Vocabulary;
use crate::model::money::Rates;
use crate::model::representation::IfMatch;
use crate::model::FieldError;
use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Timestamp;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

pub use documents::Document;

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("not found")]
    NotFound,
    #[error("the resource changed since it was read (current ETag {current})")]
    Stale { current: String },
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("conflict: {}", .0.message)]
    Conflict(FieldError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl WriteError {
    pub fn invalid(field: &str, message: impl Into<String>) -> WriteError {
        WriteError::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn conflict(field: &str, message: impl Into<String>) -> WriteError {
        WriteError::Conflict(FieldError::new(field, message))
    }
}

/// Fails with the current ETag when the precondition does not admit it.
pub fn check_precondition(if_match: Option<&IfMatch>, current: &str) -> Result<(), WriteError> {
    match if_match {
        Some(p) if !p.admits(current) => Err(WriteError::Stale {
            current: current.to_string(),
        }),
        _ => Ok(()),
    }
}

/// A committed write: what it returns, the sequence number of its last change (the head of
/// the sequence once it committed), and the documents it rendered.
#[derive(Debug)]
pub struct Written<T> {
    pub value: T,
    pub sequence: i64,
    pub documents: HashMap<String, Document>,
}

impl<T> Written<T> {
    /// The rendered document of an institute the write changed.
    pub fn document(&mut self, id: &str) -> Result<Document, WriteError> {
        self.documents.remove(id).ok_or(WriteError::NotFound)
    }
}

/// How an institute was changed by a write, for its change and history entries.
struct Touch {
    op: ChangeOp,
    successor: Option<String>,
    slug: String,
    /// The stored document before the write, for the history (`None`: no history entry
    /// for the institute itself, as for a change to one of its figures).
    before: Option<Option<String>>,
}

/// A write in progress: the connection inside the transaction, the time of the write, and
/// what it changed so far.
pub struct Tx<'c> {
    pub conn: &'c mut DbConnection,
    actor: String,
    /// The write's time, from the database's clock, never earlier than the last change's.
    pub at: NaiveDateTime,
    /// The last sequence number assigned (at the start, the head of the sequence).
    head: i64,
    changes: Vec<ChangeRow>,
    history: Vec<HistoryRow>,
    order: Vec<String>,
    touched: HashMap<String, Touch>,
    rerender: BTreeSet<String>,
    rates: Option<Rates>,
    vocabulary: Option<std::rc::Rc<Vocabulary>>,
}

/// Runs `f` as one write by `actor`: in a transaction holding the write lock, then renders
/// documents, records history and changes, and commits.
pub fn write<T>(
    conn: &mut DbConnection,
    actor: &str,
    f: impl FnOnce(&mut Tx<'_>) -> Result<T, WriteError>,
) -> Result<Written<T>, WriteError> {
    conn.transaction(|conn| {
        let mut tx = Tx::begin(conn, actor)?;
        let value = f(&mut tx)?;
        let (sequence, documents) = tx.finish()?;
        Ok(Written {
            value,
            sequence,
            documents,
        })
    })
}

/// The advisory lock key of registry writes on PostgreSQL.
const WRITE_LOCK_KEY: i64 = 0x1_2e61_5472;

/// Takes the registry's write lock for the rest of the transaction, before anything is read,
/// so that the read-check-write that follows cannot interleave with another writer: on
/// PostgreSQL a transaction-scoped advisory lock; on SQLite the database's single write lock,
/// taken by a first write (a transaction that writes first never meets a stale snapshot).
/// Reads never wait for it.
pub fn lock(conn: &mut DbConnection) -> QueryResult<()> {
    if conn.backend() == Backend::Postgres {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})"))
            .execute(conn)?;
    }
    diesel::update(registry_meta::table.find("write_lock"))
        .set(registry_meta::value.eq(registry_meta::value))
        .execute(conn)?;
    Ok(())
}

/// The number of the last committed change (0 for none).
pub fn sequence_head(conn: &mut DbConnection) -> QueryResult<i64> {
    changes::table
        .select(diesel::dsl::max(changes::seq))
        .first::<Option<i64>>(conn)
        .map(|h| h.unwrap_or(0))
}

/// The database's clock: PostgreSQL's, or on SQLite (a file on this machine) the machine's.
fn database_clock(conn: &mut DbConnection) -> QueryResult<NaiveDateTime> {
    let t = match conn.backend() {
        Backend::Postgres => diesel::select(sql::<Timestamp>(
            "CAST(clock_timestamp() AT TIME ZONE 'UTC' AS timestamp(6))",
        ))
        .first::<NaiveDateTime>(conn)?,
        Backend::Sqlite => now(),
    };
    Ok(super::micros(t))
}

impl<'c> Tx<'c> {
    /// Starts a write inside the caller's transaction: takes the lock, then reads the
    /// sequence's head and the time.
    pub fn begin(conn: &'c mut DbConnection, actor: &str) -> QueryResult<Tx<'c>> {
        lock(conn)?;
        let last: Option<(i64, NaiveDateTime)> = changes::table
            .order(changes::seq.desc())
            .select((changes::seq, changes::at))
            .first(conn)
            .optional()?;
        let head = last.map_or(0, |(seq, _)| seq);
        let clock = database_clock(conn)?;
        let at = last.map_or(clock, |(_, l)| l.max(clock));
        Ok(Tx {
            conn,
            actor: actor.to_string(),
            at,
            head,
            changes: Vec::new(),
            history: Vec::new(),
            order: Vec::new(),
            touched: HashMap::new(),
            rerender: BTreeSet::new(),
            rates: None,
            vocabulary: None,
        })
    }

    /// Who makes the write.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The exchange rates as they stand in this write.
    pub fn rates(&mut self) -> QueryResult<Rates> {
        if self.rates.is_none() {
            self.rates = Some(super::reference::rates(self.conn)?);
        }
        Ok(self.rates.clone().unwrap_or_default())
    }

    /// Forgets the rates read so far (a write changed them).
    pub fn rates_changed(&mut self) {
        self.rates = None;
    }

    /// The codes and slugs input is checked against.
    pub fn vocabulary(&mut self) -> QueryResult<std::rc::Rc<Vocabulary>> {
        if let Some(v) = &self.vocabulary {
            return Ok(v.clone());
        }
        let v = std::rc::Rc::new(vocabulary(self.conn)?);
        self.vocabulary = Some(v.clone());
        Ok(v)
    }

    /// The last sequence number assigned so far (at the start, the head of the sequence).
    pub fn head(&self) -> i64 {
        self.head
    }

    /// The next sequence number.
    pub fn next_sequence(&mut self) -> i64 {
        self.head += 1;
        self.head
    }

    /// Appends a change of a record other than an institute (their documents are not stored).
    pub fn change(&mut self, resource: Resource, id: &str, slug: Option<&str>, op: ChangeOp) {
        let seq = self.next_sequence();
        self.changes.push(ChangeRow {
            seq,
            resource: resource.as_str().to_string(),
            resource_id: id.to_string(),
            slug: slug.map(str::to_string),
            op: op.as_str().to_string(),
            successor: None,
            at: self.at,
        });
    }

    /// Appends the change `seq` of an institute (bulk writers, which render their own
    /// documents, take the number first).
    pub fn institute_change(
        &mut self,
        seq: i64,
        id: &str,
        slug: &str,
        op: ChangeOp,
        successor: Option<String>,
    ) {
        self.changes.push(ChangeRow {
            seq,
            resource: Resource::Institute.as_str().to_string(),
            resource_id: id.to_string(),
            slug: Some(slug.to_string()),
            op: op.as_str().to_string(),
            successor,
            at: self.at,
        });
    }

    /// Appends the history entry of a change to an institute (its stored documents before and
    /// after); returns the entry's id.
    pub fn institute_history(
        &mut self,
        id: &str,
        action: Action,
        before: Option<String>,
        after: Option<String>,
    ) -> String {
        let entry = new_id("chg");
        self.history.push(HistoryRow {
            id: entry.clone(),
            institute_id: Some(id.to_string()),
            subject: Subject::Institute.as_str().to_string(),
            subject_id: id.to_string(),
            action: action.as_str().to_string(),
            actor: self.actor.clone(),
            at: self.at,
            before,
            after,
        });
        entry
    }

    /// Records a history entry; `institute` is the institute it belongs to, if any.
    #[allow(clippy::too_many_arguments)]
    pub fn history<B: Serialize, A: Serialize>(
        &mut self,
        institute: Option<&str>,
        subject: Subject,
        subject_id: &str,
        action: Action,
        before: Option<&B>,
        after: Option<&A>,
    ) {
        let before = before.and_then(|b| serde_json::to_string(b).ok());
        let after = after.and_then(|a| serde_json::to_string(a).ok());
        self.history.push(HistoryRow {
            id: new_id("chg"),
            institute_id: institute.map(str::to_string),
            subject: subject.as_str().to_string(),
            subject_id: subject_id.to_string(),
            action: action.as_str().to_string(),
            actor: self.actor.clone(),
            at: self.at,
            before,
            after,
        });
    }

    fn flush_history(&mut self, rows: Vec<HistoryRow>) -> QueryResult<()> {
        let conn = &mut *self.conn;
        insert_batch!(conn, crate::db::schema::history::table, &rows, 500);
        Ok(())
    }

    /// Writes the changes and history gathered so far (bulk writers call it between chunks).
    pub fn flush(&mut self) -> QueryResult<()> {
        let history = std::mem::take(&mut self.history);
        self.flush_history(history)?;
        let rows = std::mem::take(&mut self.changes);
        let conn = &mut *self.conn;
        insert_batch!(conn, changes::table, &rows, 1000);
        Ok(())
    }

    /// Marks an institute as changed by this write: its document is rendered, and one change
    /// (and, with `before`, one history entry with the stored document before and after) is
    /// recorded for it when the write finishes. A second touch keeps the first `before` and
    /// the first op, unless the later one removes the institute.
    pub fn touch(&mut self, id: &str, slug: &str, op: ChangeOp, before: Option<Option<String>>) {
        match self.touched.get_mut(id) {
            Some(t) => {
                if op.removes() {
                    t.op = op;
                }
                if t.before.is_none() {
                    t.before = before;
                }
            }
            None => {
                self.order.push(id.to_string());
                self.touched.insert(
                    id.to_string(),
                    Touch {
                        op,
                        successor: None,
                        slug: slug.to_string(),
                        before,
                    },
                );
            }
        }
    }

    /// Marks an institute as deleted (merged into `successor`, when given).
    pub fn remove(&mut self, id: &str, slug: &str, successor: Option<&str>, before: String) {
        let op = if successor.is_some() {
            ChangeOp::Merged
        } else {
            ChangeOp::Deleted
        };
        self.touch(id, slug, op, Some(Some(before)));
        if let Some(t) = self.touched.get_mut(id) {
            t.successor = successor.map(str::to_string);
        }
    }

    /// Asks for an institute's document to be rendered again: something it shows changed
    /// (its parent's name, a child, a rate). A change is recorded only if the document differs.
    pub fn rerender(&mut self, id: &str) {
        self.rerender.insert(id.to_string());
    }

    /// Renders documents, writes them with their changes and history, and notifies the
    /// registry's listeners; returns the sequence's new head and the documents rendered.
    pub fn finish(mut self) -> Result<(i64, HashMap<String, Document>), WriteError> {
        let order = std::mem::take(&mut self.order);
        let mut touched = std::mem::take(&mut self.touched);
        let removed: BTreeSet<&String> = order
            .iter()
            .filter(|id| touched.get(*id).is_some_and(|t| t.op.removes()))
            .collect();
        let live: Vec<String> = order
            .iter()
            .filter(|id| !removed.contains(id))
            .cloned()
            .collect();
        let extra: Vec<String> = std::mem::take(&mut self.rerender)
            .into_iter()
            .filter(|id| !touched.contains_key(id))
            .collect();
        let rates = if live.is_empty() && extra.is_empty() {
            Rates::default()
        } else {
            self.rates()?
        };
        let mut rendered = documents::render(self.conn, &live, &rates)?;
        let extra_docs = documents::render(self.conn, &extra, &rates)?;
        let stored = documents::stored_etags(self.conn, &extra)?;
        let mut out = HashMap::new();
        for id in &order {
            let Some(t) = touched.remove(id) else {
                continue;
            };
            let seq = self.next_sequence();
            let doc = rendered.remove(id);
            let after = match &doc {
                Some(d) => {
                    documents::store(self.conn, d, seq)?;
                    Some(d.json.clone())
                }
                None if t.op.removes() => None,
                // Touched, but gone (created and deleted in one write): nothing to record.
                None => continue,
            };
            let slug = doc.as_ref().map_or(t.slug.clone(), |d| d.slug.clone());
            self.institute_change(seq, id, &slug, t.op, t.successor.clone());
            if let Some(before) = t.before {
                let action = match t.op {
                    ChangeOp::Created => Action::Create,
                    ChangeOp::Updated => Action::Update,
                    ChangeOp::Deleted | ChangeOp::Merged => Action::Delete,
                };
                self.institute_history(id, action, before, after);
            }
            if let Some(d) = doc {
                out.insert(id.clone(), Document { seq, ..d });
            }
        }
        for (id, doc) in extra_docs {
            if stored.get(&id) == Some(&doc.etag) {
                continue;
            }
            let seq = self.next_sequence();
            documents::store(self.conn, &doc, seq)?;
            self.institute_change(seq, &id, &doc.slug, ChangeOp::Updated, None);
            out.insert(id, Document { seq, ..doc });
        }
        self.flush()?;
        notify(self.conn, self.head)?;
        Ok((self.head, out))
    }
}

/// Tells every process following the registry that changes up to `head` are committed (on
/// PostgreSQL, a notification delivered at commit; SQLite's followers poll).
pub fn notify(conn: &mut DbConnection, head: i64) -> QueryResult<()> {
    if conn.backend() == Backend::Postgres {
        diesel::sql_query(format!("NOTIFY {CHANNEL}, '{head}'")).execute(conn)?;
    }
    Ok(())
}

/// The PostgreSQL notification channel of committed changes.
pub const CHANNEL: &str = "registry_changes";

/// The codes and slugs input is checked against.
pub fn vocabulary(conn: &mut DbConnection) -> QueryResult<Vocabulary> {
    use super::reference::{country_codes, currency_codes, sector_slugs};
    let jurisdictions = country_codes(conn)?;
    let countries = jurisdictions
        .iter()
        .filter(|c| *c != "EU")
        .cloned()
        .collect();
    Ok(Vocabulary {
        countries,
        jurisdictions,
        currencies: currency_codes(conn)?,
        sectors: sector_slugs(conn)?,
    })
}
