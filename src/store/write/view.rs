//! What the registry's rules look at: who holds a slug or an external id, what a reference
//! names, and the hierarchy. Two views answer the same questions: [`DbView`] asks the
//! database (one write at a time), [`MemoryView`] holds the registry and an import file's
//! records in memory, so that a bulk load checks each record without a query.

use crate::db::schema::{former_slugs, institutes, tombstones};
use crate::db::DbConnection;
use crate::model::ids::RESERVED_SLUGS;
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

/// The schemes of external ids, as written in references (`ror:…`).
pub const SCHEMES: [&str; 3] = ["ror", "wikidata", "grid"];

/// Who holds a unique value.
#[derive(Debug, Clone, PartialEq)]
pub enum Holder {
    /// An institute of the registry.
    Registry { id: String, slug: String },
    /// A record of the file being imported.
    File { id: String, line: usize },
    /// Nobody may take it: a deleted institute's slug, or a word the API reserves.
    Retired,
}

impl Holder {
    /// The institute holding it, if any.
    pub fn id(&self) -> Option<&str> {
        match self {
            Holder::Registry { id, .. } | Holder::File { id, .. } => Some(id),
            Holder::Retired => None,
        }
    }
}

/// What a reference names.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    /// A live institute.
    Live(String),
    /// A record of the file that was rejected.
    Rejected,
}

/// The registry as the rules see it.
pub trait View {
    /// Who holds a slug, as its current or a former slug.
    fn slug_holder(&mut self, slug: &str) -> QueryResult<Option<Holder>>;
    /// Who holds an external id (`scheme` is one of [`SCHEMES`]).
    fn external_holder(&mut self, scheme: &str, value: &str) -> QueryResult<Option<Holder>>;
    /// What a reference (id, slug, former slug, `ror:…`) names.
    fn resolve(&mut self, reference: &str) -> QueryResult<Option<Resolved>>;
    /// The parent of a live institute.
    fn parent_of(&mut self, id: &str) -> QueryResult<Option<String>>;
    /// Where references were looked for, for messages.
    fn scope(&self) -> &'static str {
        ""
    }
}

/// The registry as the database holds it, inside a write's transaction.
pub struct DbView<'a> {
    pub conn: &'a mut DbConnection,
}

impl View for DbView<'_> {
    fn slug_holder(&mut self, slug: &str) -> QueryResult<Option<Holder>> {
        if RESERVED_SLUGS.contains(&slug) {
            return Ok(Some(Holder::Retired));
        }
        let live = institutes::table
            .filter(institutes::slug.eq(slug))
            .select(institutes::id)
            .first::<String>(self.conn)
            .optional()?;
        let id = match live {
            Some(id) => Some(id),
            None => former_slugs::table
                .find(slug)
                .select(former_slugs::institute_id)
                .first::<String>(self.conn)
                .optional()?,
        };
        if let Some(id) = id {
            return Ok(Some(Holder::Registry {
                id,
                slug: slug.to_string(),
            }));
        }
        let dead = tombstones::table
            .filter(tombstones::slug.eq(slug))
            .count()
            .get_result::<i64>(self.conn)?;
        Ok((dead > 0).then_some(Holder::Retired))
    }

    fn external_holder(&mut self, scheme: &str, value: &str) -> QueryResult<Option<Holder>> {
        let query = institutes::table
            .select((institutes::id, institutes::slug))
            .into_boxed();
        let query = match scheme {
            "ror" => query.filter(institutes::ror.eq(value)),
            "wikidata" => query.filter(institutes::wikidata.eq(value)),
            _ => query.filter(institutes::grid.eq(value)),
        };
        Ok(query
            .first::<(String, String)>(self.conn)
            .optional()?
            .map(|(id, slug)| Holder::Registry { id, slug }))
    }

    fn resolve(&mut self, reference: &str) -> QueryResult<Option<Resolved>> {
        Ok(crate::store::institutes::resolve_live(self.conn, reference)?.map(Resolved::Live))
    }

    fn parent_of(&mut self, id: &str) -> QueryResult<Option<String>> {
        Ok(institutes::table
            .find(id)
            .select(institutes::parent_id)
            .first::<Option<String>>(self.conn)
            .optional()?
            .flatten())
    }
}

/// A live institute as the memory view holds it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub slug: String,
    pub name: String,
    pub parent: Option<String>,
    /// The line of the file that holds it, when it is a record of the file.
    pub line: Option<usize>,
    /// Whether the registry held it before the import.
    pub in_registry: bool,
}

/// The registry and the records of an import file accepted so far, in memory.
#[derive(Default)]
pub struct MemoryView {
    pub live: HashMap<String, Entry>,
    slugs: HashMap<String, String>,
    former: HashMap<String, String>,
    dead_ids: HashSet<String>,
    dead_slugs: HashSet<String>,
    external: HashMap<(&'static str, String), String>,
    /// References (id, slug, external ids) of the file's rejected records.
    rejected: HashSet<String>,
}

fn scheme_of(name: &str) -> Option<&'static str> {
    SCHEMES.into_iter().find(|s| *s == name)
}

impl MemoryView {
    /// Loads what the rules need of the registry.
    pub fn load(conn: &mut DbConnection) -> QueryResult<MemoryView> {
        use institutes::dsl as i;
        let mut view = MemoryView::default();
        type Row = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        for (id, slug, name, parent, ror, wikidata, grid) in i::institutes
            .select((
                i::id,
                i::slug,
                i::name,
                i::parent_id,
                i::ror,
                i::wikidata,
                i::grid,
            ))
            .load::<Row>(conn)?
        {
            for (scheme, value) in SCHEMES.into_iter().zip([ror, wikidata, grid]) {
                if let Some(v) = value {
                    view.external.insert((scheme, v), id.clone());
                }
            }
            view.slugs.insert(slug.clone(), id.clone());
            view.live.insert(
                id,
                Entry {
                    slug,
                    name,
                    parent,
                    line: None,
                    in_registry: true,
                },
            );
        }
        view.former = former_slugs::table
            .select((former_slugs::slug, former_slugs::institute_id))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        for (id, slug) in tombstones::table
            .select((tombstones::id, tombstones::slug))
            .load::<(String, String)>(conn)?
        {
            view.dead_ids.insert(id);
            view.dead_slugs.insert(slug);
        }
        Ok(view)
    }

    /// Whether `id` belonged to a deleted institute.
    pub fn was_deleted(&self, id: &str) -> bool {
        self.dead_ids.contains(id)
    }

    /// The institute an external id names.
    pub fn external(&self, scheme: &str, value: &str) -> Option<&String> {
        let scheme = scheme_of(scheme)?;
        self.external.get(&(scheme, value.to_string()))
    }

    /// The institute a current slug names.
    pub fn by_slug(&self, slug: &str) -> Option<&String> {
        self.slugs.get(slug)
    }

    /// Records an institute as it will stand after the import: a new one of the file, or a
    /// changed one (a changed slug leaves the old one as a former slug).
    pub fn put(
        &mut self,
        id: &str,
        mut entry: Entry,
        external: &[(&'static str, String)],
        old_external: &[(&'static str, String)],
    ) {
        entry.in_registry = self.live.get(id).is_some_and(|old| old.in_registry);
        if let Some(old) = self.live.get(id) {
            if old.slug != entry.slug {
                self.slugs.remove(&old.slug);
                self.former.insert(old.slug.clone(), id.to_string());
            }
        }
        for key in old_external {
            if self.external.get(key).is_some_and(|holder| holder == id) {
                self.external.remove(key);
            }
        }
        for key in external {
            self.external.insert(key.clone(), id.to_string());
        }
        self.slugs.insert(entry.slug.clone(), id.to_string());
        self.former.remove(&entry.slug);
        self.live.insert(id.to_string(), entry);
    }

    /// Takes an institute out (a record removed after it was written).
    pub fn drop_institute(&mut self, id: &str) {
        if let Some(old) = self.live.remove(id) {
            self.slugs.remove(&old.slug);
        }
        self.external.retain(|_, holder| holder != id);
    }

    /// Sets the parent of a live institute.
    pub fn set_parent(&mut self, id: &str, parent: Option<String>) {
        if let Some(e) = self.live.get_mut(id) {
            e.parent = parent;
        }
    }

    /// Remembers the references of a rejected record of the file.
    pub fn reject(&mut self, references: impl IntoIterator<Item = String>) {
        self.rejected.extend(references);
    }
}

impl View for MemoryView {
    fn slug_holder(&mut self, slug: &str) -> QueryResult<Option<Holder>> {
        if RESERVED_SLUGS.contains(&slug) || self.dead_slugs.contains(slug) {
            return Ok(Some(Holder::Retired));
        }
        let Some(id) = self.slugs.get(slug).or_else(|| self.former.get(slug)) else {
            return Ok(None);
        };
        Ok(Some(match self.live.get(id).and_then(|e| e.line) {
            Some(line) => Holder::File {
                id: id.clone(),
                line,
            },
            None => Holder::Registry {
                id: id.clone(),
                slug: self
                    .live
                    .get(id)
                    .map_or_else(|| slug.to_string(), |e| e.slug.clone()),
            },
        }))
    }

    fn external_holder(&mut self, scheme: &str, value: &str) -> QueryResult<Option<Holder>> {
        let Some(id) = self.external(scheme, value).cloned() else {
            return Ok(None);
        };
        let entry = self.live.get(&id);
        Ok(Some(match entry.and_then(|e| e.line) {
            Some(line) => Holder::File { id, line },
            None => Holder::Registry {
                slug: entry.map(|e| e.slug.clone()).unwrap_or_default(),
                id,
            },
        }))
    }

    fn resolve(&mut self, reference: &str) -> QueryResult<Option<Resolved>> {
        if self.rejected.contains(reference) {
            return Ok(Some(Resolved::Rejected));
        }
        if self.live.contains_key(reference) {
            return Ok(Some(Resolved::Live(reference.to_string())));
        }
        if let Some((scheme, value)) = reference.split_once(':') {
            if let Some(id) = self.external(scheme, value) {
                return Ok(Some(Resolved::Live(id.clone())));
            }
        }
        Ok(self
            .slugs
            .get(reference)
            .or_else(|| self.former.get(reference))
            .map(|id| Resolved::Live(id.clone())))
    }

    fn parent_of(&mut self, id: &str) -> QueryResult<Option<String>> {
        Ok(self.live.get(id).and_then(|e| e.parent.clone()))
    }

    fn scope(&self) -> &'static str {
        ", in the registry or in the file"
    }
}
