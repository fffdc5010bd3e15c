//! The read model: what lists, search, totals, aggregates and affiliation matching need, held
//! in this process. It is a projection of the database: built from it at start, then kept
//! current by following the registry's change sequence (`store::changes`) — at once after this
//! process's own writes (the writer applies the changes it made before answering), and within
//! a second for other processes' (a follower thread, woken by PostgreSQL `NOTIFY`, polling as
//! a fallback and on SQLite). Handlers only read it; nothing but [`ReadModel::apply`] changes
//! it. Every answer knows which change it reflects ([`ReadModel::sequence`]).
//!
//! Point reads and writes do not come here: they go to the database, which stays the source of
//! truth. A page of a list is the read model's ids, then one lookup of their stored documents.

pub mod aggregates;
pub mod query;
pub mod search;
pub mod table;

use crate::db::{Backend, ConnectionManager, DbConnection};
use crate::model::ids::fold;
use crate::model::matching::{CountryNames, MatchEntry, MatchIndex};
use crate::model::money::Rates;
use crate::model::text::{typo_budget, words};
use crate::store;
use crate::store::projection::Projected;
use crate::store::rows::{CountryRow, SectorRow};
use query::{InstituteFilter, Keyset, SortKey};
use roaring::RoaringBitmap;
use search::{QueryWord, SearchIndex};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};
use table::{Ranks, Table};

/// Why the read model could not be built or brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("search index: {0}")]
    Search(#[from] tantivy::TantivyError),
    #[error("the read model's lock was poisoned")]
    Poisoned,
}

/// At most this many words of a query are used.
pub const MAX_WORDS: usize = 12;

/// How a record matched a search, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// The name or acronym is the text.
    Exact = 0,
    /// The name starts with the text.
    Prefix = 1,
    /// Every word starts a word of the name, acronym or an alias.
    Words = 2,
    /// As `Words`, once misspelled words are corrected.
    Fuzzy = 3,
}

/// The reference data, as lists and summaries look it up.
#[derive(Debug, Default, Clone)]
pub struct Reference {
    pub countries: BTreeMap<String, CountryRow>,
    /// Every UN M49 region and sub-region name in use, sorted.
    pub regions: Vec<String>,
    pub sectors: BTreeMap<String, SectorRow>,
    pub currencies: HashSet<String>,
    pub rates: Rates,
    /// Programmes per jurisdiction.
    pub programs: HashMap<String, i64>,
    /// Each country's latest population, GDP and PPP factor.
    pub indicators: HashMap<String, crate::model::reference::LatestIndicators>,
}

impl Reference {
    fn of(r: store::projection::Reference) -> Reference {
        let mut regions: Vec<String> = r
            .countries
            .iter()
            .flat_map(|c| [c.region.clone(), c.subregion.clone()])
            .filter(|n| !n.is_empty())
            .collect();
        regions.sort();
        regions.dedup();
        Reference {
            countries: r
                .countries
                .into_iter()
                .map(|c| (c.code.clone(), c))
                .collect(),
            regions,
            sectors: r.sectors.into_iter().map(|s| (s.slug.clone(), s)).collect(),
            currencies: r.currencies,
            rates: r.rates,
            programs: r.programs,
            indicators: r
                .indicators
                .chunk_by(|a, b| a.country == b.country)
                .map(|rows| {
                    let code = rows[0].country.clone();
                    let latest = crate::model::reference::LatestIndicators::of(&code, rows);
                    (code, latest)
                })
                .collect(),
        }
    }

    /// The codes of the countries in any of these regions or sub-regions.
    pub fn countries_in_regions(&self, names: &[String]) -> Vec<String> {
        self.countries
            .values()
            .filter(|c| names.contains(&c.region) || names.contains(&c.subregion))
            .map(|c| c.code.clone())
            .collect()
    }

    /// The name of a region a country belongs to ("" for none).
    pub fn region_of(&self, code: &str) -> &str {
        self.countries.get(code).map_or("", |c| c.region.as_str())
    }
}

/// What the read model holds, read under one lock.
pub struct State {
    pub table: Table,
    pub reference: Reference,
    pub matcher: MatchIndex,
}

/// A search of the read model: every hit (of any status) with its rank (tier first, then
/// BM25), best first by `ranks`.
pub struct Search {
    pub hits: RoaringBitmap,
    pub ranks: Ranks,
}

impl Search {
    /// How a hit matched (from its rank, which holds the tier).
    pub fn tier(&self, ord: u32) -> Option<Tier> {
        let rank = self.ranks.get(ord)?;
        Some(match 3 - (rank / TIER_STEP).floor() as i32 {
            0 => Tier::Exact,
            1 => Tier::Prefix,
            2 => Tier::Words,
            _ => Tier::Fuzzy,
        })
    }
}

/// The span of ranks of one tier (BM25 scores stay below it).
const TIER_STEP: f64 = 10_000.0;

/// One page of a list: the ids in order, the position after the last one when more follow,
/// the exact total, and the change the answer reflects.
#[derive(Debug, Clone)]
pub struct Answer {
    pub ids: Vec<String>,
    pub next: Option<Keyset>,
    pub total: i64,
    pub sequence: i64,
}

/// This process's read model.
pub struct ReadModel {
    state: RwLock<State>,
    search: SearchIndex,
    applied: AtomicI64,
    applying: Mutex<()>,
    /// The last applied change, for requests waiting for one (`min_sequence`).
    caught_up: tokio::sync::watch::Sender<i64>,
    /// Wakes the follower early (a request waits for a change not yet applied).
    wake: (Mutex<bool>, Condvar),
}

/// The rank a search gives a hit: the tier decides, BM25 orders within it.
fn rank(tier: Tier, score: f32) -> f64 {
    f64::from(3 - tier as i32) * TIER_STEP + f64::from(score).clamp(0.0, TIER_STEP - 1.0)
}

impl ReadModel {
    /// Builds the read model from the database as it stands.
    pub fn build(conn: &mut DbConnection) -> Result<Arc<ReadModel>, ReadError> {
        // Read first: changes committed while the rest is read are applied again after.
        let head = store::write::sequence_head(conn)?;
        let all = store::projection::institutes(conn, None)?;
        let reference = Reference::of(store::projection::reference(conn)?);
        let table = Table::build(&all, reference.rates.clone());
        let search = SearchIndex::new()?;
        search.write(
            table
                .live
                .iter()
                .filter_map(|o| table.row(o).map(|r| (o, &*r.sort_name, &*r.other))),
            [],
        )?;
        search.reload()?;
        let matcher = MatchIndex::build(
            country_names(&reference),
            all.iter().map(|p| match_entry(p, &table)),
        );
        let (caught_up, _) = tokio::sync::watch::channel(head);
        let model = Arc::new(ReadModel {
            state: RwLock::new(State {
                table,
                reference,
                matcher,
            }),
            search,
            applied: AtomicI64::new(head),
            applying: Mutex::new(()),
            caught_up,
            wake: (Mutex::new(false), Condvar::new()),
        });
        model.apply(conn)?;
        Ok(model)
    }

    /// The last change of the registry's sequence this process has applied.
    pub fn sequence(&self) -> i64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Reads the state (briefly: the follower waits while it is held).
    pub fn read(&self) -> Result<RwLockReadGuard<'_, State>, ReadError> {
        self.state.read().map_err(|_| ReadError::Poisoned)
    }

    /// Applies every change committed after the last one applied; returns the new position.
    /// Serialized: a caller that finds another applying waits, then finds little left to do.
    pub fn apply(&self, conn: &mut DbConnection) -> Result<i64, ReadError> {
        let _applying = self.applying.lock().map_err(|_| ReadError::Poisoned)?;
        loop {
            let from = self.sequence();
            let changes = store::changes::after(conn, from, 10_000)?;
            let Some(last) = changes.last().map(|c| c.seq) else {
                return Ok(from);
            };
            let mut ids: Vec<String> = changes
                .iter()
                .filter(|c| c.resource == "institute")
                .map(|c| c.resource_id.clone())
                .collect();
            ids.sort();
            ids.dedup();
            let reference = if changes.iter().any(|c| c.resource != "institute") {
                Some(Reference::of(store::projection::reference(conn)?))
            } else {
                None
            };
            let changed = store::projection::institutes(conn, Some(&ids))?;
            let present: HashSet<&str> = changed.iter().map(|p| p.id.as_str()).collect();
            let removed: Vec<String> = ids
                .iter()
                .filter(|id| !present.contains(id.as_str()))
                .cloned()
                .collect();
            {
                let mut state = self.state.write().map_err(|_| ReadError::Poisoned)?;
                let state = &mut *state;
                if let Some(r) = reference {
                    state.table.revalue(r.rates.clone());
                    state.reference = r;
                }
                // The searched text of the changed rows as it was: a row whose names are the
                // same keeps its search document (most writes change figures, not names, and a
                // commit of the index is the dearest part of applying a change).
                let before: HashMap<u32, (Box<str>, Box<str>)> = changed
                    .iter()
                    .filter_map(|p| {
                        let ord = state.table.ord_of(&p.id)?;
                        let row = state.table.row(ord)?;
                        Some((ord, (row.sort_name.clone(), row.other.clone())))
                    })
                    .collect();
                let (live, gone) = state.table.apply(&changed, &removed);
                let table = &state.table;
                let put: Vec<(u32, &str, &str)> = live
                    .iter()
                    .filter_map(|o| table.row(*o).map(|r| (*o, r)))
                    .filter(|(o, r)| {
                        before
                            .get(o)
                            .is_none_or(|(name, other)| *name != r.sort_name || *other != r.other)
                    })
                    .map(|(o, r)| (o, &*r.sort_name, &*r.other))
                    .collect();
                let searched_text_changed = !put.is_empty() || !gone.is_empty();
                if searched_text_changed {
                    self.search.write(put, gone)?;
                }
                for id in &removed {
                    state.matcher.remove(id);
                }
                for p in &changed {
                    state.matcher.upsert(match_entry(p, &state.table));
                }
                // Visible together with the table: searches read both under this lock.
                if searched_text_changed {
                    self.search.reload()?;
                }
            }
            self.applied.store(last, Ordering::Release);
            self.caught_up.send_replace(last);
        }
    }

    /// Wakes the follower, so that it looks for new changes now.
    pub fn nudge(&self) {
        if let Ok(mut woken) = self.wake.0.lock() {
            *woken = true;
            self.wake.1.notify_all();
        }
    }

    /// Waits (at most `timeout`) until the change `sequence` is applied; whether it is.
    pub async fn reached(&self, sequence: i64, timeout: Duration) -> bool {
        if self.sequence() >= sequence {
            return true;
        }
        self.nudge();
        let mut rx = self.caught_up.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|applied| *applied >= sequence))
            .await
            .is_ok_and(|r| r.is_ok());
        reached
    }

    /// Follows the registry's changes on a thread of its own, on its own connection: within
    /// `poll` of a commit on SQLite, at once on PostgreSQL (`LISTEN`, with `poll` as a
    /// fallback). Reconnects after a failure.
    pub fn follow(self: &Arc<Self>, manager: ConnectionManager, poll: Duration) {
        let model = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("read-model".into())
            .spawn(move || {
                while let Some(m) = model.upgrade() {
                    drop(m);
                    let mut conn = match manager.open() {
                        Ok(c) => c,
                        Err(e) => {
                            log::warn!("read model: cannot connect to follow changes: {e}");
                            std::thread::sleep(Duration::from_secs(1));
                            continue;
                        }
                    };
                    if let Err(e) = follow_on(&model, &mut conn, poll) {
                        log::warn!("read model: following changes failed, reconnecting: {e}");
                        std::thread::sleep(Duration::from_millis(500));
                    }
                }
            })
            .expect("spawn the read model's follower");
    }

    /// Runs a search: every institute matching `q`, ranked. None when `q` holds no word.
    pub fn search(&self, state: &State, q: &str) -> Result<Option<Search>, ReadError> {
        let key = fold(q);
        let mut plan: Vec<QueryWord> = Vec::new();
        let mut fuzzy = false;
        for w in words(&key).into_iter().take(MAX_WORDS) {
            if state.table.knows(w, false) {
                plan.push(QueryWord {
                    word: w.to_string(),
                    typos: None,
                });
            } else {
                let budget = typo_budget(w);
                if budget == 0 {
                    // Unknown, and too short to correct: nothing matches.
                    return Ok(Some(Search {
                        hits: RoaringBitmap::new(),
                        ranks: Ranks::default(),
                    }));
                }
                fuzzy = true;
                plan.push(QueryWord {
                    word: w.to_string(),
                    typos: Some(budget as u8),
                });
            }
        }
        if plan.is_empty() {
            return Ok(None);
        }
        let table = &state.table;
        // The tiers from the name order and the acronyms, not from each hit's row.
        let (exact, prefix) = table.named(&key);
        let mut ranks = Ranks::new(table.ords());
        let mut ords: Vec<u32> = Vec::new();
        for (ord, score) in self.search.search(&plan, table)? {
            if !table.live.contains(ord) {
                continue;
            }
            let tier = if exact.contains(ord) {
                Tier::Exact
            } else if prefix.contains(ord) {
                Tier::Prefix
            } else if fuzzy {
                Tier::Fuzzy
            } else {
                Tier::Words
            };
            ranks.set(ord, rank(tier, score));
            ords.push(ord);
        }
        // In runs already (a segment's documents in the order they were added): a merge sort.
        ords.sort();
        ords.dedup();
        let hits = RoaringBitmap::from_sorted_iter(ords).unwrap_or_default();
        Ok(Some(Search { hits, ranks }))
    }

    /// The rows matching a filter (searching when it has a search) and the search's ranks.
    pub fn matching(
        &self,
        state: &State,
        filter: &InstituteFilter,
    ) -> Result<(RoaringBitmap, Option<Search>), ReadError> {
        let search = match &filter.search {
            Some(q) => self.search(state, q)?,
            None => None,
        };
        let set = state
            .table
            .matching(filter, search.as_ref().map(|s| &s.hits));
        Ok((set, search))
    }

    /// A page of institutes under a filter, in the order of `keys` (then id), after `after`.
    pub fn page(
        &self,
        filter: &InstituteFilter,
        keys: &[SortKey],
        after: Option<&Keyset>,
        limit: usize,
    ) -> Result<Answer, ReadError> {
        let state = self.read()?;
        let sequence = self.sequence();
        let (set, search) = self.matching(&state, filter)?;
        let ranks = search.map(|s| s.ranks).unwrap_or_default();
        let mut ords = state
            .table
            .ordered(&set, keys, after, Some(limit + 1), &ranks);
        let next = if ords.len() > limit {
            ords.truncate(limit);
            ords.last().and_then(|o| {
                state.table.row(*o).map(|r| Keyset {
                    values: state.table.values(*o, keys, &ranks),
                    id: r.id.to_string(),
                })
            })
        } else {
            None
        };
        Ok(Answer {
            ids: ords
                .iter()
                .filter_map(|o| state.table.row(*o).map(|r| r.id.to_string()))
                .collect(),
            next,
            total: set.len() as i64,
            sequence,
        })
    }

    /// Every institute under a filter, in the order of `keys` (an export's ids).
    pub fn all(&self, filter: &InstituteFilter, keys: &[SortKey]) -> Result<Answer, ReadError> {
        let state = self.read()?;
        let sequence = self.sequence();
        let (set, search) = self.matching(&state, filter)?;
        let ranks = search.map(|s| s.ranks).unwrap_or_default();
        let ords = state.table.ordered(&set, keys, None, None, &ranks);
        Ok(Answer {
            ids: ords
                .iter()
                .filter_map(|o| state.table.row(*o).map(|r| r.id.to_string()))
                .collect(),
            next: None,
            total: set.len() as i64,
            sequence,
        })
    }
}

/// Waits for changes and applies them, until the connection fails.
fn follow_on(
    model: &std::sync::Weak<ReadModel>,
    conn: &mut DbConnection,
    poll: Duration,
) -> Result<(), ReadError> {
    use diesel::connection::SimpleConnection;
    let listening = if let DbConnection::Postgresql(c) = conn {
        c.batch_execute(&format!("LISTEN {}", store::write::CHANNEL))?;
        true
    } else {
        false
    };
    loop {
        let Some(m) = model.upgrade() else {
            return Ok(());
        };
        m.apply(conn)?;
        let deadline = Instant::now() + poll;
        // Between applications: a notification (PostgreSQL), a nudge, or the poll interval.
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if listening {
                if let DbConnection::Postgresql(c) = conn {
                    let notified = c.notifications_iter().next().transpose()?.is_some();
                    // Drain the rest: one application covers every change so far.
                    while c.notifications_iter().next().transpose()?.is_some() {}
                    if notified {
                        break;
                    }
                }
            }
            let step = if listening {
                Duration::from_millis(20)
            } else {
                deadline - now
            };
            let Ok(woken) = m.wake.0.lock() else {
                return Err(ReadError::Poisoned);
            };
            let (mut woken, _) = m
                .wake
                .1
                .wait_timeout_while(woken, step.min(deadline - now), |w| !*w)
                .map_err(|_| ReadError::Poisoned)?;
            if *woken {
                *woken = false;
                break;
            }
        }
    }
}

/// The countries' names the matcher recognises in affiliations.
fn country_names(reference: &Reference) -> CountryNames {
    CountryNames::new(
        reference
            .countries
            .values()
            .map(|c| (c.code.clone(), c.name.clone())),
    )
}

/// What the matcher indexes of an institute (its parent's name from the table).
fn match_entry(p: &Projected, table: &Table) -> MatchEntry {
    MatchEntry {
        id: p.id.clone(),
        slug: p.slug.clone(),
        name: p.name.clone(),
        acronym: p.acronym.clone(),
        aliases: p.aliases.clone(),
        country: p.country.clone(),
        city: p.city.clone(),
        status: p.status.clone(),
        parent: p
            .parent_id
            .as_deref()
            .and_then(|id| table.ord_of(id))
            .and_then(|o| table.row(o))
            .map(|r| (r.name.to_string(), r.acronym.as_deref().map(str::to_string))),
    }
}

/// Whether the backend's followers are woken by notifications.
pub fn notified(backend: Backend) -> bool {
    backend == Backend::Postgres
}
