//! Search over names, acronyms and aliases, on each backend's own full-text index (SQLite FTS5;
//! a stored PostgreSQL `tsvector` with a GIN index), behind one plan that the list, suggestions and matching
//! share. Queries are folded like the indexed text, so case and accents never matter.
//!
//! Ranking happens in SQL so that keyset pages stay exact: tier 0 is an exact name or acronym,
//! tier 1 a name that starts with the query, tier 2 every query word found as a word prefix,
//! tier 3 a typo-tolerant match (a word of the query that the index does not know is replaced
//! by the indexed words within its typo budget).

use super::rows::InstituteRow;
use crate::db::schema::{institute_vocab, institutes};
use crate::db::{Backend, DbConnection, MultiBackend};
use crate::model::ids::fold;
use crate::model::text::{acronym_key, edit_distance, search_text, typo_budget, words};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

/// At most this many corrections are tried for one misspelled word.
const MAX_CORRECTIONS: usize = 8;
/// At most this many words of a query are used.
pub const MAX_WORDS: usize = 12;

/// How a record matched a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    Exact = 0,
    Prefix = 1,
    Words = 2,
    Fuzzy = 3,
}

/// One word of a query, and what the index may hold instead of it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryWord {
    pub word: String,
    /// Match the word as a prefix of an indexed word (else exactly).
    pub prefix: bool,
    /// Indexed words within the typo budget, when the word itself is unknown to the index.
    pub corrections: Vec<String>,
}

/// A prepared search: the folded query, its words, and the backend's query text.
#[derive(Debug, Clone)]
pub struct SearchPlan {
    pub key: String,
    pub words: Vec<QueryWord>,
    pub backend: Backend,
    /// Whether any word needed a correction (every match is then tier 3).
    pub fuzzy: bool,
    /// Words joined by AND (true) or OR (false).
    pub all: bool,
}

impl SearchPlan {
    /// The backend's full-text query string.
    pub fn fts_query(&self) -> String {
        let groups: Vec<String> = self
            .words
            .iter()
            .map(|w| {
                let mut alternatives = Vec::new();
                match self.backend {
                    Backend::Sqlite => {
                        let star = if w.prefix { "*" } else { "" };
                        alternatives.push(format!("\"{}\"{star}", w.word.replace('"', "\"\"")));
                        for c in &w.corrections {
                            alternatives.push(format!("\"{}\"", c.replace('"', "\"\"")));
                        }
                    }
                    Backend::Postgres => {
                        let star = if w.prefix { ":*" } else { "" };
                        alternatives.push(format!("'{}'{star}", pg_quote(&w.word)));
                        for c in &w.corrections {
                            alternatives.push(format!("'{}'", pg_quote(c)));
                        }
                    }
                }
                format!("({})", alternatives.join(" OR "))
            })
            .collect();
        match self.backend {
            Backend::Sqlite => groups.join(if self.all { " AND " } else { " OR " }),
            Backend::Postgres => groups
                .join(if self.all { " & " } else { " | " })
                .replace(" OR ", " | "),
        }
    }

    /// The condition "matches the search" on the institutes table.
    pub fn condition(
        &self,
    ) -> Box<dyn BoxableExpression<institutes::table, MultiBackend, SqlType = Bool>> {
        let query = self.fts_query();
        match self.backend {
            Backend::Sqlite => Box::new(
                sql::<Bool>(
                    "id IN (SELECT institute_id FROM institute_search WHERE docid IN \
                     (SELECT rowid FROM institute_fts WHERE institute_fts MATCH ",
                )
                .bind::<Text, _>(query)
                .sql("))"),
            ),
            Backend::Postgres => Box::new(
                sql::<Bool>("search_vector @@ to_tsquery('simple', ")
                    .bind::<Text, _>(query)
                    .sql(")"),
            ),
        }
    }

    /// The SQL expression of a row's tier (the folded query is inlined: folding leaves only
    /// letters, digits and spaces, and quotes are doubled all the same).
    pub fn tier_sql(&self) -> String {
        let k = self.key.replace('\'', "''");
        let n = self.key.chars().count();
        let rest = if self.fuzzy { Tier::Fuzzy } else { Tier::Words };
        format!(
            "(CASE WHEN sort_name = '{k}' OR acronym_key = '{k}' THEN 0 \
             WHEN substr(sort_name, 1, {n}) = '{k}' THEN 1 ELSE {} END)",
            rest as i32
        )
    }

    /// A row's tier, as `tier_sql` computes it.
    pub fn tier_of(&self, row: &InstituteRow) -> Tier {
        if row.sort_name == self.key || row.acronym_key.as_deref() == Some(self.key.as_str()) {
            Tier::Exact
        } else if row.sort_name.starts_with(&self.key) {
            Tier::Prefix
        } else if self.fuzzy {
            Tier::Fuzzy
        } else {
            Tier::Words
        }
    }
}

fn pg_quote(word: &str) -> String {
    word.replace('\\', "\\\\").replace('\'', "''")
}

/// The upper bound of a prefix range: every text starting with `prefix` sorts below it.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// Whether the index holds a word starting with `prefix` (or equal to it when `exact`).
fn known(conn: &mut DbConnection, word: &str, exact: bool) -> QueryResult<bool> {
    use institute_vocab::dsl as v;
    let query = v::institute_vocab
        .select(v::term)
        .into_boxed::<MultiBackend>();
    let query = if exact {
        query.filter(v::term.eq(word))
    } else {
        query
            .filter(v::term.ge(word))
            .filter(v::term.lt(prefix_end(word)))
    };
    Ok(query.first::<String>(conn).optional()?.is_some())
}

/// Indexed words within the typo budget of `word`, closest first. Candidates share the word's
/// first or second letter (a typo rarely hits both), which keeps the scan to a few ranges.
fn corrections(conn: &mut DbConnection, word: &str) -> QueryResult<Vec<String>> {
    use institute_vocab::dsl as v;
    let budget = typo_budget(word);
    if budget == 0 {
        return Ok(Vec::new());
    }
    let len = word.chars().count();
    let mut found: Vec<(usize, String)> = Vec::new();
    let mut starts: Vec<String> = word.chars().take(2).map(String::from).collect();
    starts.dedup();
    for start in starts {
        let terms: Vec<String> = v::institute_vocab
            .select(v::term)
            .filter(v::term.ge(start.clone()))
            .filter(v::term.lt(prefix_end(&start)))
            .load(conn)?;
        for term in terms {
            if term.chars().count().abs_diff(len) > budget {
                continue;
            }
            let d = edit_distance(word, &term, budget);
            if d <= budget && !found.iter().any(|(_, t)| *t == term) {
                found.push((d, term));
            }
        }
    }
    found.sort();
    Ok(found
        .into_iter()
        .take(MAX_CORRECTIONS)
        .map(|(_, t)| t)
        .collect())
}

/// Prepares a search for `q`: every word must match (as a word prefix, the last one too while
/// a user types), and a word the index does not know is widened to its likely corrections.
/// None when `q` holds no letter or digit.
pub fn plan(conn: &mut DbConnection, q: &str) -> QueryResult<Option<SearchPlan>> {
    let key = fold(q);
    let mut plan_words = Vec::new();
    let mut fuzzy = false;
    for w in words(&key).into_iter().take(MAX_WORDS) {
        let mut word = QueryWord {
            word: w.to_string(),
            prefix: true,
            corrections: Vec::new(),
        };
        if !known(conn, w, false)? {
            word.corrections = corrections(conn, w)?;
            fuzzy |= !word.corrections.is_empty();
        }
        plan_words.push(word);
    }
    if plan_words.is_empty() {
        return Ok(None);
    }
    Ok(Some(SearchPlan {
        key,
        words: plan_words,
        backend: conn.backend(),
        fuzzy,
        all: true,
    }))
}

/// A word that must be a whole indexed word: itself when the index knows it, else its
/// corrections; None when it has neither.
pub fn exact_word(conn: &mut DbConnection, word: &str) -> QueryResult<Option<QueryWord>> {
    if known(conn, word, true)? {
        return Ok(Some(QueryWord {
            word: word.to_string(),
            prefix: false,
            corrections: Vec::new(),
        }));
    }
    let c = corrections(conn, word)?;
    Ok(c.split_first().map(|(first, rest)| QueryWord {
        word: first.clone(),
        prefix: false,
        corrections: rest.to_vec(),
    }))
}

impl SearchPlan {
    /// A plan over prepared words, all required (`all`) or any.
    pub fn of_words(words: Vec<QueryWord>, backend: Backend, all: bool) -> SearchPlan {
        SearchPlan {
            key: words
                .iter()
                .map(|w| w.word.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            fuzzy: words.iter().any(|w| !w.corrections.is_empty()),
            words,
            backend,
            all,
        }
    }
}

/// Fills in the search text of rows that have none (rows written before search existed).
pub fn backfill(conn: &mut DbConnection) -> QueryResult<usize> {
    use institutes::dsl as i;
    let rows: Vec<(String, String, Option<String>, String)> = i::institutes
        .filter(i::search_text.eq(""))
        .select((i::id, i::name, i::acronym, i::aliases))
        .load(conn)?;
    let count = rows.len();
    if count == 0 {
        return Ok(0);
    }
    conn.transaction(|conn| {
        super::write::lock(conn)?;
        for (id, name, acronym, aliases) in rows {
            let aliases: Vec<String> = serde_json::from_str(&aliases).unwrap_or_default();
            diesel::update(i::institutes.find(&id))
                .set((
                    i::search_text.eq(search_text(&name, acronym.as_deref(), &aliases)),
                    i::acronym_key.eq(acronym_key(acronym.as_deref())),
                ))
                .execute(conn)?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(count)
}
