//! Matching a free-text affiliation, as papers write it, to the registry's institutes.
//!
//! [`MatchIndex`] holds what matching needs of every institute (names, acronym, aliases,
//! country, city, parent) with an inverted index over their words and the registry's own
//! document frequencies, kept current by [`MatchIndex::upsert`] and [`MatchIndex::remove`].
//! It knows no SQL and no HTTP: whoever owns the registry's state feeds it.
//!
//! What decides a match:
//! - a word weighs what it tells apart: rare words in the registry's names weigh most, words
//!   many names share weigh little, and generic words (institute, research, national …) and
//!   place names (countries, cities, regions) never identify a name on their own;
//! - every identifying word of a name must be in the affiliation (so "Max Planck Institute for
//!   Biology of Ageing" is not the Max Planck Institute for Intelligent Systems, and other
//!   RIKEN centres are not RIKEN AIP), and a name made only of places and generic words must
//!   stand in the affiliation whole, in order;
//! - the short head of a name ("Vector Institute" of "Vector Institute for Artificial
//!   Intelligence") and acronyms count only in context: the institute's city or country, its
//!   parent, or its full name named elsewhere in the affiliation; an acronym must also be a
//!   whole word written as an acronym (capitals, unless the affiliation has no case at all).
//!
//! A candidate that fails these tests may still be listed, but scores below [`CHOSEN_MIN`] and
//! is never chosen.

pub mod words;

use crate::model::text::{edit_distance, typo_budget};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;
use utoipa::ToSchema;
use words::{Case, Word};

/// How a candidate matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchType {
    /// A segment is the official name.
    Exact,
    /// A segment is the acronym, or holds it as a word.
    Acronym,
    /// A segment is an alias (another, former or translated name).
    Alias,
    /// A segment holds the name (or its head) among other words.
    Partial,
    /// Most of the name's words, some within a typo.
    Fuzzy,
}

/// The least score a chosen candidate has.
pub const CHOSEN_MIN: f64 = 0.75;
/// How far the chosen candidate must lead the next one.
pub const CHOSEN_MARGIN: f64 = 0.05;
/// The highest score of a candidate that may not be chosen.
const UNDECIDED_MAX: f64 = 0.7;
/// A word in more names than this share of the registry (and at least `RETRIEVAL_MIN_DF`)
/// does not retrieve candidates by itself.
const RETRIEVAL_SHARE: f64 = 0.01;
const RETRIEVAL_MIN_DF: usize = 64;
/// At most this many candidates are scored per affiliation.
const MAX_CANDIDATES: usize = 100;
/// A word weighing at least this (and neither generic nor a place) identifies a name.
const IDENTIFYING: f64 = 0.45;
/// The weight generic words have at most.
const GENERIC_CAP: f64 = 0.3;
/// The least weight any word of a name has when counting how much of the name is present.
const COVERAGE_FLOOR: f64 = 0.4;
/// The longest name, in words, looked up as a phrase.
const MAX_PHRASE: usize = 12;
/// The most segments one name may span ("Czech Institute of Informatics, Robotics and …").
const MAX_SPAN: usize = 3;

/// What the index knows of one institute.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchEntry {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub acronym: Option<String>,
    pub aliases: Vec<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// May name several places ("Tübingen / Stuttgart").
    pub city: Option<String>,
    pub status: String,
    /// The parent institute's name and acronym, when it has one.
    pub parent: Option<(String, Option<String>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Name,
    Alias,
    /// The part of a name before "for"/"of" or a spaced dash: counts only with the
    /// institute's city, parent or acronym named.
    Head,
    /// The name without its first word, a parent's name or acronym ("Centre for Frontier AI
    /// Research" of "A*STAR Centre …"): counts only with that word named elsewhere.
    Tail,
}

/// A word of the index's names, interned: one allocation shared by every name that holds it.
type Term = Arc<str>;

#[derive(Debug, Clone)]
struct Variant {
    words: Box<[Term]>,
    form: Form,
    text: Box<str>,
    /// For a tail, the words left out, which must be named elsewhere.
    dropped: Box<[Term]>,
}

/// A variant as it is derived from a name, before its words are interned.
struct Draft {
    words: Vec<String>,
    form: Form,
    text: String,
    dropped: Vec<String>,
}

#[derive(Debug, Clone)]
struct Indexed {
    entry: MatchEntry,
    variants: Vec<Variant>,
    acronym: Option<Box<[Term]>>,
    /// The raw words of the acronym, to check how the affiliation writes them.
    acronym_raw: Vec<String>,
    cities: Vec<Vec<String>>,
    parent: Vec<Vec<String>>,
}

impl Indexed {
    /// Every distinct word of names, aliases and acronym: what document frequencies count.
    /// (Derived when the entry comes and goes rather than kept: it would double the words
    /// held for each institute.)
    fn vocabulary(&self) -> Vec<&str> {
        let mut vocabulary: Vec<&str> = Vec::new();
        for w in self
            .variants
            .iter()
            .flat_map(|v| v.words.iter())
            .chain(self.acronym.iter().flat_map(|a| a.iter()))
        {
            if !vocabulary.contains(&&**w) {
                vocabulary.push(w);
            }
        }
        vocabulary
    }

    /// The place phrases this entry adds to the index's places (its cities), with their words.
    fn places(&self) -> impl Iterator<Item = (String, &Vec<String>)> {
        self.cities.iter().map(|c| (c.join(" "), c))
    }
}

/// Country names (ISO names, informal names, adjectives) to recognise in affiliations.
#[derive(Debug, Default, Clone)]
pub struct CountryNames {
    by_name: HashMap<String, String>,
}

impl CountryNames {
    /// From `(code, name)` pairs, plus the usual informal names and adjectives.
    pub fn new(rows: impl IntoIterator<Item = (String, String)>) -> CountryNames {
        let mut by_name: HashMap<String, String> = HashMap::new();
        for (code, name) in rows {
            by_name.insert(words::place_key(&name), code);
        }
        for (name, code) in words::COUNTRY_ALIASES.iter().chain(words::DEMONYMS) {
            by_name.insert(words::place_key(name), (*code).to_string());
        }
        for (name, code) in words::REGIONS {
            if name.len() > 2 {
                by_name
                    .entry(words::place_key(name))
                    .or_insert_with(|| (*code).to_string());
            }
        }
        by_name.remove("");
        CountryNames { by_name }
    }
}

/// A candidate's score against an affiliation.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// In [0, 1].
    pub score: f64,
    pub match_type: MatchType,
    /// The name, alias or acronym that matched.
    pub matched: String,
    /// Whether the affiliation names the candidate's country or city.
    pub country_hint: bool,
    /// Whether the evidence can decide: identifying words present, context where needed.
    pub decisive: bool,
}

/// One candidate of an answer.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub entry: &'a MatchEntry,
    pub scored: Scored,
}

/// The answer for one affiliation: candidates best first, and the choice if unambiguous.
#[derive(Debug, Clone)]
pub struct Matches<'a> {
    pub candidates: Vec<Candidate<'a>>,
    /// Index into `candidates` of the chosen one.
    pub chosen: Option<usize>,
}

/// The matcher's state: entries, their words, and the inverted index with document
/// frequencies. Cheap to update one entry at a time.
#[derive(Debug, Default, Clone)]
pub struct MatchIndex {
    slots: Vec<Option<Indexed>>,
    free: Vec<u32>,
    by_id: HashMap<String, u32>,
    /// The words of the entries' variants and acronyms, each held once.
    terms: HashSet<Term>,
    /// Word -> slots whose names, aliases or acronym hold it (each slot once). Its length is
    /// the word's document frequency.
    postings: HashMap<String, Vec<u32>>,
    /// One deletion of each word of five letters or more -> the words, for typo lookups.
    deletions: HashMap<String, Vec<String>>,
    /// A whole variant's words, joined -> slots (for names made of common words).
    /// (Keyed by [`phrase_key`], not by the text: a key per variant of every institute.)
    phrases: HashMap<u64, Vec<u32>>,
    /// An acronym's words, joined -> slots.
    acronyms: HashMap<u64, Vec<u32>>,
    /// City phrases of the registry, with how many entries name each.
    cities: HashMap<String, (u32, String)>,
    /// Words of the places every index knows (countries, their adjectives, regions).
    fixed_places: HashSet<String>,
    /// Words of the registry's cities, with how many cities hold each.
    city_words: HashMap<String, u32>,
    countries: CountryNames,
    live: usize,
}

/// The key of a phrase's words in the phrase and acronym maps: a 64-bit hash (SipHash with
/// fixed keys) of the words joined by spaces, so that an affiliation's words, joined, find it.
/// Two phrases sharing a key (odds about 1 in 10^8 for a million phrases) would only make a
/// name a candidate, which scoring then judges on its words.
fn phrase_key(words: &[Term]) -> u64 {
    key_of_text(&words.join(" "))
}

fn key_of_text(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

fn push_unique(list: &mut Vec<u32>, slot: u32) {
    if !list.contains(&slot) {
        list.push(slot);
    }
}

fn deletions_of(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    (0..chars.len())
        .map(|skip| {
            chars
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, c)| *c)
                .collect()
        })
        .collect()
}

/// Splits a city field into its places ("Tübingen / Stuttgart", "Seongnam (Pangyo)").
fn city_places(city: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let all = words::words(city);
    let segments = all.iter().map(|w| w.segment).max().map_or(0, |m| m + 1);
    for s in 0..segments {
        let place: Vec<String> = all
            .iter()
            .filter(|w| w.segment == s && !w.number)
            .map(|w| w.text.clone())
            .collect();
        if !place.is_empty() && !out.contains(&place) {
            out.push(place);
        }
    }
    out
}

fn variants_of(entry: &MatchEntry) -> Vec<Draft> {
    let mut out: Vec<Draft> = Vec::new();
    let mut add = |words: Vec<String>, form: Form, text: &str, dropped: Vec<String>| {
        if !words.is_empty() && !out.iter().any(|v| v.words == words) {
            out.push(Draft {
                words,
                form,
                text: text.to_string(),
                dropped,
            });
        }
    };
    let name = words::words(&entry.name);
    let full: Vec<String> = name.iter().map(|w| w.text.clone()).collect();
    add(full.clone(), Form::Name, &entry.name, vec![]);
    for alias in &entry.aliases {
        add(words::name_words(alias), Form::Alias, alias, vec![]);
    }
    // Names written as one word or two ("Peng Cheng", "Pengcheng"): short words joined.
    for (words, form, text) in [(full.clone(), Form::Name, entry.name.as_str())]
        .into_iter()
        .chain(
            entry
                .aliases
                .iter()
                .map(|a| (words::name_words(a), Form::Alias, a.as_str())),
        )
    {
        for i in 0..words.len().saturating_sub(1) {
            let short = |w: &str| (2..=5).contains(&w.chars().count()) && !words::is_generic(w);
            if short(&words[i]) && short(&words[i + 1]) {
                let mut joined = words[..i].to_vec();
                joined.push(format!("{}{}", words[i], words[i + 1]));
                joined.extend_from_slice(&words[i + 2..]);
                add(joined, form, text, vec![]);
            }
        }
    }
    // A tail: the name after a first word that is not generic, when generic words follow it.
    if name.len() >= 3 && !words::is_generic(&name[0].text) && words::is_generic(&name[1].text) {
        let text: Vec<&str> = name[1..].iter().map(|w| w.raw.as_str()).collect();
        add(
            full[1..].to_vec(),
            Form::Tail,
            &text.join(" "),
            vec![full[0].clone()],
        );
    }
    // Heads: the name's first segment ("Mila" of "Mila – Quebec …"), and the words before
    // the first continuation ("Vector Institute" of "Vector Institute for …").
    let first: Vec<&Word> = name.iter().filter(|w| w.segment == 0).collect();
    if first.len() < name.len() {
        let text: Vec<&str> = first.iter().map(|w| w.raw.as_str()).collect();
        add(
            first.iter().map(|w| w.text.clone()).collect(),
            Form::Head,
            &text.join(" "),
            vec![],
        );
    }
    if let Some(cut) = name.iter().position(|w| w.continued) {
        if cut + 1 >= 2 && cut + 1 < name.len() {
            let head = &name[..=cut];
            let text: Vec<&str> = head.iter().map(|w| w.raw.as_str()).collect();
            add(
                head.iter().map(|w| w.text.clone()).collect(),
                Form::Head,
                &text.join(" "),
                vec![],
            );
        }
    }
    out
}

/// The index entry of a record: its variants, acronym and places, their words interned by
/// `term`.
fn indexed(entry: MatchEntry, mut term: impl FnMut(&str) -> Term) -> Indexed {
    let mut terms = |words: &[String]| -> Box<[Term]> { words.iter().map(|w| term(w)).collect() };
    let variants = variants_of(&entry)
        .into_iter()
        .map(|d| Variant {
            words: terms(&d.words),
            form: d.form,
            text: d.text.into(),
            dropped: terms(&d.dropped),
        })
        .collect();
    let acronym_words: Vec<Word> = entry
        .acronym
        .as_deref()
        .map(words::words)
        .unwrap_or_default();
    let texts: Vec<String> = acronym_words.iter().map(|w| w.text.clone()).collect();
    let acronym = Some(terms(&texts)).filter(|a| !a.is_empty());
    let acronym_raw = acronym_words.iter().map(|w| w.raw.clone()).collect();
    let cities = entry.city.as_deref().map(city_places).unwrap_or_default();
    let mut parent = Vec::new();
    if let Some((name, acronym)) = &entry.parent {
        parent.push(words::name_words(name));
        if let Some(a) = acronym {
            parent.push(words::name_words(a));
        }
        parent.retain(|p| !p.is_empty());
    }
    Indexed {
        entry,
        variants,
        acronym,
        acronym_raw,
        cities,
        parent,
    }
}

/// The affiliation, read.
struct Affiliation {
    words: Vec<Word>,
    /// Whether the text has no case to tell acronyms by (all capitals or all small letters).
    caseless: bool,
    /// Countries named, by code, with the word positions that name them.
    countries: HashMap<String, Vec<usize>>,
    /// Positions of words that are (part of) a place.
    places: Vec<bool>,
    /// Where each name word asked about agrees with a word here, with its credit.
    seen: RefCell<HashMap<String, Occurrences>>,
}

/// Where a name's word agrees with an affiliation's words: positions and credits.
type Occurrences = Rc<Vec<(usize, f64)>>;

/// How one of a name's words was found: at a position, with a credit (1 exact, less a typo).
type Found = Option<(usize, f64)>;

impl MatchIndex {
    /// An empty index that recognises these countries.
    pub fn new(countries: CountryNames) -> MatchIndex {
        let mut index = MatchIndex {
            countries,
            ..MatchIndex::default()
        };
        for (name, _) in words::COUNTRY_ALIASES
            .iter()
            .chain(words::DEMONYMS)
            .chain(words::REGIONS)
        {
            index.fixed_places.extend(words::name_words(name));
        }
        let names: Vec<String> = index.countries.by_name.keys().cloned().collect();
        for name in names {
            index
                .fixed_places
                .extend(name.split(' ').map(str::to_string));
        }
        index.fixed_places.retain(|w| !words::is_stopword(w));
        index
    }

    /// An index of these entries.
    pub fn build(countries: CountryNames, entries: impl IntoIterator<Item = MatchEntry>) -> Self {
        let mut index = MatchIndex::new(countries);
        for e in entries {
            index.upsert(e);
        }
        index
    }

    /// How many institutes the index holds.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The entry of an institute id.
    pub fn get(&self, id: &str) -> Option<&MatchEntry> {
        let slot = *self.by_id.get(id)?;
        self.slots[slot as usize].as_ref().map(|i| &i.entry)
    }

    /// Adds an institute, or replaces what the index knows of it.
    pub fn upsert(&mut self, entry: MatchEntry) {
        if let Some(slot) = self.by_id.get(&entry.id) {
            if self.slots[*slot as usize]
                .as_ref()
                .is_some_and(|i| i.entry == entry)
            {
                return;
            }
        }
        self.remove(&entry.id);
        let terms = &mut self.terms;
        let item = indexed(entry, |w| match terms.get(w) {
            Some(t) => t.clone(),
            None => {
                let t: Term = Arc::from(w);
                terms.insert(t.clone());
                t
            }
        });
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        for w in item.vocabulary() {
            let list = self.postings.entry(w.to_string()).or_default();
            if list.is_empty() && w.chars().count() >= 5 {
                for d in deletions_of(w) {
                    let words = self.deletions.entry(d).or_default();
                    if !words.iter().any(|x| x == w) {
                        words.push(w.to_string());
                    }
                }
            }
            list.push(slot);
        }
        for v in &item.variants {
            push_unique(self.phrases.entry(phrase_key(&v.words)).or_default(), slot);
        }
        if let Some(a) = &item.acronym {
            push_unique(self.acronyms.entry(phrase_key(a)).or_default(), slot);
        }
        for (key, place) in item.places() {
            let e = self
                .cities
                .entry(key)
                .or_insert((0, item.entry.country.clone()));
            e.0 += 1;
            for w in place {
                *self.city_words.entry(w.clone()).or_default() += 1;
            }
        }
        self.by_id.insert(item.entry.id.clone(), slot);
        self.slots[slot as usize] = Some(item);
        self.live += 1;
    }

    /// Forgets an institute.
    pub fn remove(&mut self, id: &str) {
        let Some(slot) = self.by_id.remove(id) else {
            return;
        };
        let Some(item) = self.slots[slot as usize].take() else {
            return;
        };
        for w in item.vocabulary() {
            if let Some(list) = self.postings.get_mut(w) {
                list.retain(|s| *s != slot);
                if list.is_empty() {
                    self.postings.remove(w);
                    for d in deletions_of(w) {
                        if let Some(words) = self.deletions.get_mut(&d) {
                            words.retain(|x| x != w);
                            if words.is_empty() {
                                self.deletions.remove(&d);
                            }
                        }
                    }
                }
            }
        }
        let drop_from = |map: &mut HashMap<u64, Vec<u32>>, key: u64| {
            if let Some(list) = map.get_mut(&key) {
                list.retain(|s| *s != slot);
                if list.is_empty() {
                    map.remove(&key);
                }
            }
        };
        for v in &item.variants {
            drop_from(&mut self.phrases, phrase_key(&v.words));
        }
        if let Some(a) = &item.acronym {
            drop_from(&mut self.acronyms, phrase_key(a));
        }
        for (key, place) in item.places() {
            if let Some(e) = self.cities.get_mut(&key) {
                e.0 -= 1;
                if e.0 == 0 {
                    self.cities.remove(&key);
                }
            }
            for w in place {
                if let Some(n) = self.city_words.get_mut(w) {
                    *n -= 1;
                    if *n == 0 {
                        self.city_words.remove(w);
                    }
                }
            }
        }
        // Words no other entry holds any longer leave the terms (held here and by `item`).
        let mut words: Vec<Term> = item
            .variants
            .iter()
            .flat_map(|v| v.words.iter().chain(v.dropped.iter()))
            .chain(item.acronym.iter().flat_map(|a| a.iter()))
            .cloned()
            .collect();
        words.sort_unstable();
        words.dedup();
        drop(item);
        for t in words {
            if Arc::strong_count(&t) == 2 {
                self.terms.remove(&*t);
            }
        }
        self.free.push(slot);
        self.live -= 1;
    }

    fn df(&self, word: &str) -> usize {
        self.postings.get(word).map_or(0, Vec::len)
    }

    fn is_place(&self, word: &str) -> bool {
        self.fixed_places.contains(word) || self.city_words.contains_key(word)
    }

    /// What a word tells apart, in [0, 1]: 1 for a word in one name, less the more names
    /// share it; generic words at most `GENERIC_CAP`; stop words 0. A word no name holds
    /// weighs 1 (it is something the registry does not know).
    pub fn weight(&self, word: &str) -> f64 {
        if words::is_stopword(word) {
            return 0.0;
        }
        let n = self.live.max(1) as f64;
        let df = self.df(word) as f64;
        let idf = if df == 0.0 {
            1.0
        } else {
            ((1.0 + n / df).ln() / (1.0 + n).ln()).min(1.0)
        };
        if words::is_generic(word) {
            idf.min(GENERIC_CAP)
        } else {
            idf
        }
    }

    /// Whether a word of a name identifies it: weighty, neither generic nor a place nor a number.
    fn identifying(&self, word: &str) -> bool {
        !words::is_generic(word)
            && !self.is_place(word)
            && !word.chars().all(|c| c.is_ascii_digit())
            && self.weight(word) >= IDENTIFYING
    }

    fn read(&self, text: &str) -> Affiliation {
        let words = words::words(text);
        let has_upper = text.chars().any(char::is_uppercase);
        let has_lower = text.chars().any(char::is_lowercase);
        let mut places = vec![false; words.len()];
        let mut countries: HashMap<String, Vec<usize>> = HashMap::new();
        for start in 0..words.len() {
            for len in 1..=5 {
                let end = start + len;
                if end > words.len() || words[end - 1].segment != words[start].segment {
                    break;
                }
                let key: Vec<&str> = words[start..end].iter().map(|w| w.text.as_str()).collect();
                let key = key.join(" ");
                let code = self
                    .countries
                    .by_name
                    .get(&key)
                    .cloned()
                    .or_else(|| self.cities.get(&key).map(|(_, c)| c.clone()));
                let place = code.is_some()
                    || (len == 1 && self.is_place(&key))
                    || words::REGIONS.iter().any(|(r, _)| *r == key);
                if place {
                    for p in places.iter_mut().take(end).skip(start) {
                        *p = true;
                    }
                }
                if let Some(code) = code {
                    countries.entry(code).or_default().extend(start..end);
                }
            }
        }
        Affiliation {
            words,
            caseless: !(has_upper && has_lower),
            countries,
            places,
            seen: RefCell::default(),
        }
    }

    /// Where a name's word agrees with the affiliation's words (remembered per affiliation).
    fn occurrences(&self, aff: &Affiliation, word: &str) -> Occurrences {
        if let Some(found) = aff.seen.borrow().get(word) {
            return found.clone();
        }
        let found: Occurrences = Rc::new(
            aff.words
                .iter()
                .enumerate()
                .filter_map(|(p, w)| {
                    let credit = self.agree(word, &w.text);
                    (credit > 0.0).then_some((p, credit))
                })
                .collect(),
        );
        aff.seen
            .borrow_mut()
            .insert(word.to_string(), found.clone());
        found
    }

    /// Words of the index within a typo of `word` (not `word` itself).
    fn corrections(&self, word: &str) -> Vec<&str> {
        if word.chars().count() < 5 || self.is_place(word) {
            return Vec::new();
        }
        let budget = typo_budget(word);
        let mut out: Vec<&str> = Vec::new();
        let mut keys = deletions_of(word);
        keys.push(word.to_string());
        for k in keys {
            if let Some(list) = self.deletions.get(&k) {
                for w in list {
                    if w != word
                        && !out.contains(&w.as_str())
                        && !self.is_place(w)
                        && edit_distance(w, word, budget.min(typo_budget(w))) <= budget
                    {
                        out.push(w);
                    }
                }
            }
        }
        out
    }

    /// Slots that may be what the affiliation names, most promising first.
    fn candidates(&self, aff: &Affiliation) -> Vec<u32> {
        let limit = ((self.live as f64 * RETRIEVAL_SHARE) as usize).max(RETRIEVAL_MIN_DF);
        let mut found: HashMap<u32, f64> = HashMap::new();
        let mut add = |slots: &[u32], weight: f64| {
            for s in slots {
                *found.entry(*s).or_default() += weight;
            }
        };
        let mut seen: HashSet<&str> = HashSet::new();
        for w in &aff.words {
            if w.number || !seen.insert(w.text.as_str()) {
                continue;
            }
            let known = self.postings.get(&w.text);
            if let Some(list) = known {
                if list.len() <= limit {
                    add(list, self.weight(&w.text));
                }
            }
            if known.is_none() {
                for c in self.corrections(&w.text) {
                    if let Some(list) = self.postings.get(c).filter(|l| l.len() <= limit) {
                        add(list, 0.9 * self.weight(c));
                    }
                }
            }
        }
        // Whole names of common words, and acronyms, by their joined words.
        let n = aff.words.len();
        for start in 0..n {
            let mut key = String::new();
            for end in start + 1..=(start + MAX_PHRASE).min(n) {
                if aff.words[end - 1].segment >= aff.words[start].segment + MAX_SPAN {
                    break;
                }
                if !key.is_empty() {
                    key.push(' ');
                }
                key.push_str(&aff.words[end - 1].text);
                // A phrase or acronym that many names share tells nothing apart.
                let hashed = key_of_text(&key);
                if let Some(list) = self.phrases.get(&hashed).filter(|l| l.len() <= limit) {
                    add(list, 2.0);
                }
                if end - start <= 4 {
                    if let Some(list) = self.acronyms.get(&hashed).filter(|l| l.len() <= limit) {
                        add(list, 1.5);
                    }
                }
            }
        }
        let mut ranked: Vec<(u32, f64)> = found.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(MAX_CANDIDATES);
        ranked.into_iter().map(|(s, _)| s).collect()
    }

    /// How well `name` (a name's word) and `text` (an affiliation's word) agree: 1 when the
    /// same, 0.9 within a typo (never for places, nor for a word the registry knows as
    /// another word), else 0.
    fn agree(&self, name: &str, text: &str) -> f64 {
        if name == text {
            return 1.0;
        }
        let budget = typo_budget(name).min(typo_budget(text));
        if budget == 0
            || text.chars().count() < 5
            || self.is_place(name)
            || self.is_place(text)
            || self.df(text) > 0
        {
            return 0.0;
        }
        if edit_distance(name, text, budget) <= budget {
            0.9
        } else {
            0.0
        }
    }

    /// Matches one affiliation: candidates best first, at most `limit`, and the choice.
    pub fn find(&self, text: &str, limit: usize) -> Matches<'_> {
        let aff = self.read(text);
        let mut scored: Vec<Candidate<'_>> = Vec::new();
        for slot in self.candidates(&aff) {
            let Some(item) = self.slots[slot as usize].as_ref() else {
                continue;
            };
            if let Some(s) = self.score(&aff, item) {
                scored.push(Candidate {
                    entry: &item.entry,
                    scored: s,
                });
            }
        }
        scored.sort_by(|a, b| {
            b.scored
                .score
                .total_cmp(&a.scored.score)
                .then_with(|| a.entry.name.cmp(&b.entry.name))
                .then_with(|| a.entry.id.cmp(&b.entry.id))
        });
        let chosen = match scored.as_slice() {
            [] => None,
            [best, rest @ ..] => {
                let lead = rest
                    .first()
                    .map_or(1.0, |second| best.scored.score - second.scored.score);
                (best.scored.decisive
                    && best.scored.score >= CHOSEN_MIN
                    && lead >= CHOSEN_MARGIN - 1e-9)
                    .then_some(0)
            }
        };
        scored.truncate(limit.max(1));
        Matches {
            candidates: scored,
            chosen,
        }
    }

    /// Where a place phrase (a city of the entry) is named, outside `except` positions.
    fn names_place<S: AsRef<str>>(&self, aff: &Affiliation, place: &[S], except: &[usize]) -> bool {
        let n = aff.words.len();
        let k = place.len();
        k > 0
            && (0..n.saturating_sub(k - 1)).any(|start| {
                (0..k).all(|i| aff.words[start + i].text == place[i].as_ref())
                    && (start..start + k).all(|p| !except.contains(&p))
            })
    }

    /// Whether a phrase of words is named anywhere (for parents).
    fn names_phrase<S: AsRef<str>>(
        &self,
        aff: &Affiliation,
        phrase: &[S],
        except: &[usize],
    ) -> bool {
        self.names_place(aff, phrase, except)
    }

    /// Whether the affiliation names the entry's place (city or country), outside `except`.
    fn place_context(&self, aff: &Affiliation, item: &Indexed, except: &[usize]) -> bool {
        let country = aff
            .countries
            .get(&item.entry.country)
            .is_some_and(|at| at.iter().any(|p| !except.contains(p)));
        country || item.cities.iter().any(|c| self.names_place(aff, c, except))
    }

    /// Where each of the variant's words is found within positions `range`, greedily, in
    /// order of the variant's words.
    fn align(
        &self,
        variant: &[Term],
        aff: &Affiliation,
        range: std::ops::Range<usize>,
    ) -> Vec<Found> {
        let mut used: Vec<usize> = Vec::new();
        variant
            .iter()
            .map(|v| {
                let mut best: Found = None;
                for &(p, credit) in self.occurrences(aff, v).iter() {
                    if !range.contains(&p) || used.contains(&p) {
                        continue;
                    }
                    if best.is_none_or(|(_, c)| credit > c) {
                        best = Some((p, credit));
                        if credit == 1.0 {
                            break;
                        }
                    }
                }
                if let Some((p, _)) = best {
                    used.push(p);
                }
                best
            })
            .collect()
    }

    /// The weight of the identifying words of positions not in `matched`, in the segments
    /// `segments`: what the affiliation says there that the name does not.
    fn unexplained(
        &self,
        aff: &Affiliation,
        segments: std::ops::Range<usize>,
        matched: &[usize],
    ) -> f64 {
        aff.words
            .iter()
            .enumerate()
            .filter(|(p, w)| {
                segments.contains(&w.segment)
                    && !matched.contains(p)
                    && !w.number
                    && !aff.places[*p]
                    && !words::is_generic(&w.text)
                    && w.text.chars().count() > 1
            })
            .map(|(_, w)| self.weight(&w.text))
            .sum()
    }

    /// Scores one variant of a name; None when it is not there.
    fn score_variant(&self, aff: &Affiliation, item: &Indexed, v: &Variant) -> Option<Scored> {
        let n = aff.words.len();
        let k = v.words.len();
        if k == 0 || n == 0 {
            return None;
        }
        let weights: Vec<f64> = v.words.iter().map(|w| self.weight(w)).collect();
        let cover: Vec<f64> = weights.iter().map(|w| w.max(COVERAGE_FLOOR)).collect();
        let total_cover: f64 = cover.iter().sum();
        let identifying: Vec<bool> = v.words.iter().map(|w| self.identifying(w)).collect();
        let has_identifying = identifying.iter().any(|b| *b);
        let has_place = v.words.iter().any(|w| self.is_place(w));
        let segments = aff.words.last().map_or(0, |w| w.segment + 1);
        let mut hit = vec![false; segments];
        for w in &v.words {
            for (p, _) in self.occurrences(aff, w).iter() {
                hit[aff.words[*p].segment] = true;
            }
        }
        if !hit.iter().any(|h| *h) {
            return None;
        }
        // (score, kind, decisive, positions)
        let mut best: Option<(f64, MatchType, bool, Vec<usize>)> = None;
        let mut consider = |s: f64, kind: MatchType, decisive: bool, at: Vec<usize>| {
            let better = match &best {
                None => true,
                Some((bs, _, bd, _)) => (decisive, s) > (*bd, *bs),
            };
            if better {
                best = Some((s, kind, decisive, at));
            }
        };
        for first in (0..segments).filter(|s| hit[*s]) {
            for span in 1..=MAX_SPAN.min(segments - first) {
                if !hit[first + span - 1] {
                    continue;
                }
                let segs = first..first + span;
                let range: Vec<usize> = (0..n)
                    .filter(|p| segs.contains(&aff.words[*p].segment))
                    .collect();
                let (Some(&lo), Some(&hi)) = (range.first(), range.last()) else {
                    continue;
                };
                // Each segment of the span must hold part of the name.
                let found = self.align(&v.words, aff, lo..hi + 1);
                let positions: Vec<usize> = found.iter().flatten().map(|(p, _)| *p).collect();
                if span > 1
                    && !segs
                        .clone()
                        .all(|s| positions.iter().any(|p| aff.words[*p].segment == s))
                {
                    continue;
                }
                let matched: f64 = found
                    .iter()
                    .zip(&cover)
                    .map(|(f, c)| f.map_or(0.0, |(_, credit)| credit * c))
                    .sum();
                let coverage = matched / total_cover;
                let all_identifying = found
                    .iter()
                    .zip(&identifying)
                    .all(|(f, id)| !*id || f.is_some());
                let complete = found.iter().all(Option::is_some);
                let mut sorted = positions.clone();
                sorted.sort_unstable();
                let contiguous = complete
                    && sorted.windows(2).all(|w| w[1] == w[0] + 1)
                    && positions.windows(2).all(|w| w[1] > w[0]);
                let window_len = range.len();
                let typo_free = found.iter().all(|f| f.is_some_and(|(_, c)| c == 1.0));
                if contiguous && window_len == k {
                    // The segment(s) are exactly the name.
                    let base = match v.form {
                        Form::Name => 1.0,
                        Form::Alias => 0.97,
                        Form::Head | Form::Tail => 0.92,
                    };
                    let kind = match v.form {
                        Form::Name => MatchType::Exact,
                        Form::Alias => MatchType::Alias,
                        Form::Head | Form::Tail => MatchType::Partial,
                    };
                    // The name within a typo: as sure, nearly, but said to be fuzzy.
                    let (s, kind) = if typo_free {
                        (base, kind)
                    } else {
                        (base - 0.08, MatchType::Fuzzy)
                    };
                    consider(s, kind, true, positions);
                } else if contiguous {
                    let last = *sorted.last().unwrap_or(&0);
                    // "Allen Institute" followed by "for Brain Science" is another name.
                    if aff.words[last].continued
                        && aff.words.get(last + 1).is_some_and(|w| {
                            w.segment == aff.words[last].segment && !aff.places[last + 1]
                        })
                    {
                        continue;
                    }
                    let extra = self.unexplained(aff, segs.clone(), &positions);
                    let s = 0.8 + 0.12 * (k as f64 / window_len as f64)
                        - 0.1 * extra.min(3.0)
                        - if typo_free { 0.0 } else { 0.05 };
                    consider(s, MatchType::Partial, extra < 0.9, positions);
                } else if has_identifying && all_identifying && coverage >= 0.8 {
                    let window_cover: f64 = range
                        .iter()
                        .filter(|p| !aff.places[**p] && !aff.words[**p].number)
                        .map(|p| self.weight(&aff.words[*p].text).max(0.1))
                        .sum();
                    let explained: f64 = found
                        .iter()
                        .flatten()
                        .map(|(p, c)| c * self.weight(&aff.words[*p].text).max(0.1))
                        .sum();
                    let of_window = if window_cover > 0.0 {
                        (explained / window_cover).min(1.0)
                    } else {
                        1.0
                    };
                    let extra = self.unexplained(aff, segs.clone(), &positions);
                    let s = 0.85 * (0.7 * coverage + 0.3 * of_window)
                        - 0.1 * extra.min(3.0)
                        - 0.02 * (span - 1) as f64;
                    consider(
                        s,
                        MatchType::Fuzzy,
                        coverage >= 0.85 && extra < 0.9,
                        positions,
                    );
                }
            }
        }
        let (mut score, kind, mut decisive, positions) = best?;
        // A name of places and generic words only, or a head, counts in context; a name whose
        // identifying words are all there stands on its own.
        let named_elsewhere = item
            .parent
            .iter()
            .any(|p| self.names_phrase(aff, p, &positions))
            || self.acronym_found(aff, item, &positions).is_some();
        let city = item
            .cities
            .iter()
            .any(|c| self.names_place(aff, c, &positions));
        match v.form {
            // A head may be another organisation's whole name ("Allen Institute", "Max Planck
            // Institute"): only the institute's own city, parent or acronym tell.
            Form::Head => decisive &= city || named_elsewhere,
            Form::Tail => {
                decisive &= self.names_phrase(aff, &v.dropped, &positions) || named_elsewhere
            }
            Form::Name | Form::Alias => {
                if !has_identifying && !has_place {
                    decisive &=
                        city || named_elsewhere || self.place_context(aff, item, &positions);
                }
            }
        }
        if !has_identifying && kind == MatchType::Fuzzy {
            decisive = false;
        }
        score = score.min(1.0);
        Some(Scored {
            score,
            match_type: kind,
            matched: v.text.to_string(),
            country_hint: false,
            decisive,
        })
    }

    /// Where the entry's acronym stands in the affiliation as an acronym (whole words, the
    /// case right), outside `except`.
    fn acronym_found(
        &self,
        aff: &Affiliation,
        item: &Indexed,
        except: &[usize],
    ) -> Option<Vec<usize>> {
        let a = item.acronym.as_ref()?;
        let k = a.len();
        let letters: usize = a.iter().map(|w| w.chars().count()).sum();
        if letters < 3 && k == 1 {
            return None;
        }
        let n = aff.words.len();
        (0..n.saturating_sub(k - 1)).find_map(|start| {
            let at: Vec<usize> = (start..start + k).collect();
            let same = (0..k).all(|i| *aff.words[start + i].text == *a[i]);
            if !same || at.iter().any(|p| except.contains(p)) {
                return None;
            }
            // "AI" inside an acronym reads as two words from one written word.
            let case_ok = aff.caseless
                || at.iter().enumerate().all(|(i, p)| {
                    let w = &aff.words[*p];
                    let registered = item.acronym_raw.get(i).map(String::as_str).unwrap_or("");
                    w.case == Case::Upper
                        || w.raw == registered
                        || aff.words[*p].text.chars().any(|c| c.is_ascii_digit())
                });
            case_ok.then_some(at)
        })
    }

    /// Scores one candidate; None when nothing of it is in the affiliation.
    fn score(&self, aff: &Affiliation, item: &Indexed) -> Option<Scored> {
        fn keep(best: &mut Option<Scored>, s: Scored) {
            let better = match best {
                None => true,
                Some(b) => (s.decisive, s.score) > (b.decisive, b.score),
            };
            if better {
                *best = Some(s);
            }
        }
        let mut best: Option<Scored> = None;
        for v in &item.variants {
            if let Some(s) = self.score_variant(aff, item, v) {
                keep(&mut best, s);
            }
        }
        if let Some(at) = self.acronym_found(aff, item, &[]) {
            let segment = aff.words[at[0]].segment;
            let alone = aff.words.iter().filter(|w| w.segment == segment).count() == at.len();
            // Context: the place, the parent, or another of its names.
            let named = best.as_ref().is_some_and(|b| b.decisive);
            let context = named
                || self.place_context(aff, item, &at)
                || item.parent.iter().any(|p| self.names_phrase(aff, p, &at));
            keep(
                &mut best,
                Scored {
                    score: if alone { 0.93 } else { 0.88 },
                    match_type: MatchType::Acronym,
                    matched: item.entry.acronym.clone().unwrap_or_default(),
                    country_hint: false,
                    decisive: context,
                },
            );
        }
        let mut s = best?;
        let city_named = item.cities.iter().any(|c| self.names_place(aff, c, &[]));
        let country_named = aff.countries.contains_key(&item.entry.country);
        // Another country named, and not this one: a city of the same name elsewhere proves
        // nothing, and only the whole name can still decide, if it is the institute's own: a
        // name of generic words ("Centre for Artificial Intelligence Research") is as likely
        // another country's organisation of the same name, acronym and all.
        let elsewhere = !aff.countries.is_empty() && !country_named;
        let generic = || {
            !words::name_words(&item.entry.name)
                .iter()
                .any(|w| self.identifying(w))
        };
        if elsewhere && (!matches!(s.match_type, MatchType::Exact | MatchType::Alias) || generic())
        {
            s.decisive = false;
        }
        s.country_hint = (city_named && !elsewhere) || country_named;
        if s.country_hint {
            s.score += 0.05;
        } else if !aff.countries.is_empty() {
            // The affiliation names another country.
            s.score -= if s.match_type == MatchType::Acronym {
                0.25
            } else {
                0.1
            };
        }
        if !s.decisive {
            s.score = s.score.min(UNDECIDED_MAX);
        }
        s.score = (s.score.clamp(0.0, 1.0) * 1000.0).round() / 1000.0;
        Some(s)
    }
}

#[cfg(test)]
mod tests;
