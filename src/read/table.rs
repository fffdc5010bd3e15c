//! The institutes as lists, totals and aggregates need them: compact rows addressed by an
//! ordinal (this process's own number for a record, never reused), a bitmap of the rows of each
//! status, kind, country and sector, and each sort field's order. Filters are bitmap
//! intersections (then a scan of the few range bounds); totals are exact cardinalities; a page
//! walks the first sort key's order from the cursor, or sorts the matches when they are few.

use super::query::{InstituteFilter, Keyset, SortField, SortKey, SortValue};
use crate::model::ids::fold;
use crate::model::institute::{InstituteKind, InstituteStatus};
use crate::model::money::Rates;
use crate::store::projection::Projected;
use chrono::NaiveDateTime;
use roaring::RoaringBitmap;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

/// The fields with an order of their own.
pub const ORDERED: [SortField; 9] = [
    SortField::Name,
    SortField::Founded,
    SortField::Budget,
    SortField::BudgetPpp,
    SortField::Headcount,
    SortField::Updated,
    SortField::Created,
    SortField::Country,
    SortField::Kind,
];

/// One institute.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: Box<str>,
    pub slug: Box<str>,
    pub name: Box<str>,
    /// The folded name, what names sort and search by.
    pub sort_name: Box<str>,
    pub acronym: Option<Box<str>>,
    /// The folded acronym and aliases, what search finds besides the name.
    pub other: Box<str>,
    pub status: InstituteStatus,
    pub kind: InstituteKind,
    pub country: u16,
    /// The country's ISO code, what the country sort orders by.
    pub country_code: [u8; 2],
    pub parent: Option<Box<str>>,
    pub founded: Option<i32>,
    pub researchers: Option<i32>,
    pub staff: Option<i32>,
    pub headcount: Option<i32>,
    pub budget_usd: Option<f64>,
    /// The comparable budget's year.
    pub budget_year: Option<i32>,
    /// The comparable budget in international dollars of its year (its USD value in the
    /// country's currency at the year's rate, over the country's PPP factor of that year).
    pub budget_ppp: Option<f64>,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub sectors: Box<[u16]>,
}

impl Row {
    /// The folded acronym alone.
    pub fn acronym_key(&self) -> Option<String> {
        self.acronym.as_deref().map(fold).filter(|a| !a.is_empty())
    }

    /// Every searchable word.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.sort_name
            .split(' ')
            .chain(self.other.split(' '))
            .filter(|w| !w.is_empty())
    }

    /// The row's value of a sort field (relevance is the search's, not the row's).
    pub fn value(&self, field: SortField) -> SortValue {
        let int = |v: Option<i32>| v.map_or(SortValue::Null, |v| SortValue::Int(v.into()));
        match field {
            SortField::Name | SortField::Relevance => SortValue::Text(self.sort_name.to_string()),
            SortField::Founded => int(self.founded),
            SortField::Headcount => int(self.headcount),
            SortField::Budget => self.budget_usd.map_or(SortValue::Null, SortValue::Float),
            SortField::BudgetPpp => self.budget_ppp.map_or(SortValue::Null, SortValue::Float),
            SortField::Updated => SortValue::Time(self.updated),
            SortField::Created => SortValue::Time(self.created),
            SortField::Country => {
                SortValue::Text(String::from_utf8_lossy(&self.country_code).into_owned())
            }
            SortField::Kind => SortValue::Text(self.kind.as_str().to_string()),
        }
    }
}

/// Compares two values of one field, ascending, a missing value after every other.
pub fn cmp_values(a: &SortValue, b: &SortValue) -> Ordering {
    use SortValue::*;
    match (a, b) {
        (Null, Null) => Ordering::Equal,
        (Null, _) => Ordering::Greater,
        (_, Null) => Ordering::Less,
        (Int(x), Int(y)) => x.cmp(y),
        (Float(x), Float(y)) => x.total_cmp(y),
        (Time(x), Time(y)) => x.cmp(y),
        (Text(x), Text(y)) => x.cmp(y),
        (Int(x), Float(y)) => (*x as f64).total_cmp(y),
        (Float(x), Int(y)) => x.total_cmp(&(*y as f64)),
        // Kinds never mix within a field; a fixed order keeps comparisons total.
        (x, y) => rank(x).cmp(&rank(y)),
    }
}

fn rank(v: &SortValue) -> u8 {
    match v {
        SortValue::Int(_) | SortValue::Float(_) => 0,
        SortValue::Time(_) => 1,
        SortValue::Text(_) => 2,
        SortValue::Null => 3,
    }
}

/// Compares by one key: its direction, missing values last either way.
fn cmp_key(a: &SortValue, b: &SortValue, descending: bool) -> Ordering {
    match (a, b) {
        (SortValue::Null, _) | (_, SortValue::Null) => cmp_values(a, b),
        _ if descending => cmp_values(b, a),
        _ => cmp_values(a, b),
    }
}

/// Compares two ascending keys of one field quickly, without building values.
fn cmp_field(a: &Row, b: &Row, field: SortField) -> Ordering {
    fn opt<T: PartialOrd>(a: Option<T>, b: Option<T>) -> Ordering {
        match (a, b) {
            (None, None) => Ordering::Equal,
            (None, _) => Ordering::Greater,
            (_, None) => Ordering::Less,
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        }
    }
    match field {
        SortField::Name | SortField::Relevance => a.sort_name.cmp(&b.sort_name),
        SortField::Founded => opt(a.founded, b.founded),
        SortField::Headcount => opt(a.headcount, b.headcount),
        SortField::Budget => match (a.budget_usd, b.budget_usd) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (x, y) => opt(x, y),
        },
        SortField::BudgetPpp => match (a.budget_ppp, b.budget_ppp) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (x, y) => opt(x, y),
        },
        SortField::Updated => a.updated.cmp(&b.updated),
        SortField::Created => a.created.cmp(&b.created),
        SortField::Country => a.country_code.cmp(&b.country_code),
        SortField::Kind => a.kind.as_str().cmp(b.kind.as_str()),
    }
}

/// A comparable budget's value in international dollars of its year: its USD value taken into
/// the country's currency at the year's average rate, over the country's PPP factor of that
/// year; none without either.
fn ppp_of(rates: &Rates, usd: Option<f64>, year: Option<i32>, country: &str) -> Option<f64> {
    let (usd, year) = (usd?, year?);
    rates.usd_to_ppp(usd, year, country)
}

/// Interned names (country codes, sector slugs) as small numbers.
#[derive(Debug, Default, Clone)]
pub struct Names {
    pub names: Vec<String>,
    index: HashMap<String, u16>,
}

impl Names {
    pub fn id(&mut self, name: &str) -> u16 {
        if let Some(i) = self.index.get(name) {
            return *i;
        }
        let i = self.names.len() as u16;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }

    pub fn get(&self, name: &str) -> Option<u16> {
        self.index.get(name).copied()
    }

    pub fn name(&self, id: u16) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }
}

/// The totals a country summary shows, over its active institutes.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct CountryTotals {
    pub institutes: i64,
    pub researchers: i64,
    pub staff: i64,
    pub with_headcount: i64,
    pub budget_usd: f64,
    pub with_budget: i64,
    /// The budgets in international dollars, and how many have a value.
    pub budget_ppp: f64,
    pub with_budget_ppp: i64,
}

impl CountryTotals {
    fn add(&mut self, row: &Row, sign: i64) {
        self.institutes += sign;
        self.researchers += sign * i64::from(row.researchers.unwrap_or(0));
        self.staff += sign * i64::from(row.staff.unwrap_or(0));
        if row.researchers.is_some() || row.staff.is_some() {
            self.with_headcount += sign;
        }
        if let Some(b) = row.budget_usd {
            self.budget_usd += sign as f64 * b;
            self.with_budget += sign;
        }
        if let Some(b) = row.budget_ppp {
            self.budget_ppp += sign as f64 * b;
            self.with_budget_ppp += sign;
        }
    }
}

/// Below this many matches a page sorts them; from it, it walks the first key's order.
const SORT_BELOW: u64 = 2048;

/// The fields filters, orders and aggregates read most, one compact column each, by ordinal:
/// a pass over thousands of rows reads a few bytes of each, not the whole row.
#[derive(Debug, Default)]
pub struct Columns {
    pub country: Vec<u16>,
    pub kind: Vec<InstituteKind>,
    founded: Vec<i32>,
    headcount: Vec<i32>,
    budget_usd: Vec<f64>,
    budget_ppp: Vec<f64>,
}

/// A missing integer in a column.
const NO_INT: i32 = i32::MIN;

impl Columns {
    fn put(&mut self, ord: u32, row: &Row) {
        let i = ord as usize;
        if self.country.len() <= i {
            let n = i + 1;
            self.country.resize(n, 0);
            self.kind.resize(n, InstituteKind::Consortium);
            self.founded.resize(n, NO_INT);
            self.headcount.resize(n, NO_INT);
            self.budget_usd.resize(n, f64::NAN);
            self.budget_ppp.resize(n, f64::NAN);
        }
        self.country[i] = row.country;
        self.kind[i] = row.kind;
        self.founded[i] = row.founded.unwrap_or(NO_INT);
        self.headcount[i] = row.headcount.unwrap_or(NO_INT);
        self.budget_usd[i] = row.budget_usd.unwrap_or(f64::NAN);
        self.budget_ppp[i] = row.budget_ppp.unwrap_or(f64::NAN);
    }

    fn int(v: &[i32], ord: u32) -> Option<i32> {
        v.get(ord as usize).copied().filter(|v| *v != NO_INT)
    }

    fn float(v: &[f64], ord: u32) -> Option<f64> {
        v.get(ord as usize).copied().filter(|v| !v.is_nan())
    }

    pub fn founded(&self, ord: u32) -> Option<i32> {
        Self::int(&self.founded, ord)
    }

    pub fn headcount(&self, ord: u32) -> Option<i32> {
        Self::int(&self.headcount, ord)
    }

    pub fn budget_usd(&self, ord: u32) -> Option<f64> {
        Self::float(&self.budget_usd, ord)
    }

    pub fn budget_ppp(&self, ord: u32) -> Option<f64> {
        Self::float(&self.budget_ppp, ord)
    }

    /// A numeric field's sort value, or none for a field not held here.
    fn value(&self, ord: u32, field: SortField) -> Option<SortValue> {
        let int = |v: Option<i32>| v.map_or(SortValue::Null, |v| SortValue::Int(v.into()));
        let float = |v: Option<f64>| v.map_or(SortValue::Null, SortValue::Float);
        Some(match field {
            SortField::Founded => int(self.founded(ord)),
            SortField::Headcount => int(self.headcount(ord)),
            SortField::Budget => float(self.budget_usd(ord)),
            SortField::BudgetPpp => float(self.budget_ppp(ord)),
            _ => return None,
        })
    }
}

/// A search's rank of each hit, by ordinal (dense: a lookup per comparison costs no hashing).
#[derive(Debug, Default, Clone)]
pub struct Ranks(Vec<f64>);

impl Ranks {
    /// No rank yet for any of `ords` ordinals.
    pub fn new(ords: usize) -> Ranks {
        Ranks(vec![f64::NAN; ords])
    }

    pub fn set(&mut self, ord: u32, rank: f64) {
        if let Some(r) = self.0.get_mut(ord as usize) {
            *r = rank;
        }
    }

    /// The rank of a hit; none for a row the search did not find.
    pub fn get(&self, ord: u32) -> Option<f64> {
        self.0.get(ord as usize).copied().filter(|r| !r.is_nan())
    }

    /// The rank a sort uses: 0 for a row the search did not find.
    pub fn value(&self, ord: u32) -> f64 {
        self.get(ord).unwrap_or(0.0)
    }
}

/// Every live institute, indexed.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Option<Row>>,
    by_id: HashMap<Box<str>, u32>,
    by_slug: HashMap<Box<str>, u32>,
    pub live: RoaringBitmap,
    statuses: HashMap<InstituteStatus, RoaringBitmap>,
    kinds: HashMap<InstituteKind, RoaringBitmap>,
    countries: Vec<RoaringBitmap>,
    sectors: Vec<RoaringBitmap>,
    children: HashMap<Box<str>, RoaringBitmap>,
    orders: HashMap<SortField, Vec<u32>>,
    /// Each row's position in the name order (by ordinal), so that a sort by relevance breaks
    /// its ties by name without comparing strings. Kept whenever that order changes.
    name_pos: Vec<u32>,
    /// The rows of each folded acronym (what an exact search of an acronym finds).
    acronyms: HashMap<Box<str>, RoaringBitmap>,
    pub columns: Columns,
    pub country_names: Names,
    pub sector_names: Names,
    /// Per country, the totals of its active institutes (kept as rows change).
    country_totals: Vec<CountryTotals>,
    /// Every searchable word, with how many institutes hold it.
    vocabulary: BTreeMap<Box<str>, u32>,
    /// Search statistics, from the rows alone (so that relevance does not depend on how the
    /// search index happens to be segmented): words of names and of acronyms and aliases, each
    /// with how many institutes hold it, and the total of each.
    pub name_words: Words,
    pub other_words: Words,
    /// The rates and purchasing-power factors rows are valued with.
    rates: Rates,
}

/// How many institutes hold each word of one searchable field, and how many words the field
/// holds in all.
#[derive(Debug, Default)]
pub struct Words {
    pub holders: HashMap<Box<str>, u32>,
    pub total: u64,
}

impl Words {
    fn add(&mut self, text: &str, sign: i64) {
        let mut seen: Vec<&str> = Vec::new();
        for w in text.split(' ').filter(|w| !w.is_empty()) {
            self.total = self.total.saturating_add_signed(sign);
            if seen.contains(&w) {
                continue;
            }
            seen.push(w);
            if sign > 0 {
                *self.holders.entry(w.into()).or_default() += 1;
            } else if let Some(n) = self.holders.get_mut(w) {
                *n -= 1;
                if *n == 0 {
                    self.holders.remove(w);
                }
            }
        }
    }
}

fn slot<T: Default>(list: &mut Vec<T>, i: u16) -> &mut T {
    let i = i as usize;
    if list.len() <= i {
        list.resize_with(i + 1, T::default);
    }
    &mut list[i]
}

impl Table {
    /// The row of an ordinal, if live.
    pub fn row(&self, ord: u32) -> Option<&Row> {
        self.rows.get(ord as usize).and_then(Option::as_ref)
    }

    /// The ordinal of an id or slug.
    pub fn ord_of(&self, reference: &str) -> Option<u32> {
        self.by_id
            .get(reference)
            .or_else(|| self.by_slug.get(reference))
            .copied()
    }

    pub fn len(&self) -> u64 {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Whether some searchable word starts with `prefix` (or is it, when `whole`).
    pub fn knows(&self, prefix: &str, whole: bool) -> bool {
        if whole {
            return self.vocabulary.contains_key(prefix);
        }
        self.vocabulary
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .next()
            .is_some_and(|(w, _)| w.starts_with(prefix))
    }

    /// The row a projected institute becomes.
    pub fn row_of(&mut self, p: &Projected) -> Row {
        let mut other: Vec<String> = p.acronym.iter().map(|a| fold(a)).collect();
        other.extend(p.aliases.iter().map(|a| fold(a)));
        other.retain(|o| !o.is_empty());
        let sectors: Vec<u16> = p.sectors.iter().map(|s| self.sector_names.id(s)).collect();
        Row {
            id: p.id.as_str().into(),
            slug: p.slug.as_str().into(),
            name: p.name.as_str().into(),
            sort_name: p.sort_name.as_str().into(),
            acronym: p.acronym.as_deref().map(Into::into),
            other: other.join(" ").into(),
            status: InstituteStatus::parse(&p.status).unwrap_or(InstituteStatus::Active),
            kind: InstituteKind::parse(&p.kind).unwrap_or(InstituteKind::Consortium),
            country: self.country_names.id(&p.country),
            country_code: {
                let b = p.country.as_bytes();
                [
                    b.first().copied().unwrap_or(b' '),
                    b.get(1).copied().unwrap_or(b' '),
                ]
            },
            parent: p.parent_id.as_deref().map(Into::into),
            founded: p.founded,
            researchers: p.researchers,
            staff: p.staff,
            headcount: p.headcount,
            budget_usd: p.budget_usd,
            budget_year: p.budget_year,
            budget_ppp: ppp_of(&self.rates, p.budget_usd, p.budget_year, &p.country),
            created: p.created_at,
            updated: p.updated_at,
            sectors: sectors.into(),
        }
    }

    /// Values the rows with other rates or purchasing-power factors (after a change to the
    /// reference data): every row's international-dollar budget, the countries' totals and the
    /// order by it.
    pub fn revalue(&mut self, rates: Rates) {
        self.rates = rates;
        let mut totals: Vec<CountryTotals> = Vec::new();
        for (ord, row) in self.rows.iter_mut().enumerate() {
            let Some(row) = row else { continue };
            let code = String::from_utf8_lossy(&row.country_code).into_owned();
            row.budget_ppp = ppp_of(&self.rates, row.budget_usd, row.budget_year, &code);
            if let Some(b) = self.columns.budget_ppp.get_mut(ord) {
                *b = row.budget_ppp.unwrap_or(f64::NAN);
            }
            if row.status == InstituteStatus::Active {
                slot(&mut totals, row.country).add(row, 1);
            }
        }
        self.country_totals = totals;
        let mut order: Vec<u32> = self.live.iter().collect();
        order.sort_by(|a, b| self.cmp_rows(*a, *b, SortField::BudgetPpp));
        self.orders.insert(SortField::BudgetPpp, order);
    }

    /// Builds the table from every institute at once, valued with `rates`.
    pub fn build(all: &[Projected], rates: Rates) -> Table {
        let mut table = Table {
            rates,
            ..Table::default()
        };
        for p in all {
            let row = table.row_of(p);
            let ord = table.rows.len() as u32;
            table.rows.push(None);
            table.index(ord, row);
        }
        for field in ORDERED {
            let mut order: Vec<u32> = table.live.iter().collect();
            order.sort_by(|a, b| table.cmp_rows(*a, *b, field));
            table.orders.insert(field, order);
        }
        table.reposition_names();
        table
    }

    /// Numbers every row by its place in the name order.
    fn reposition_names(&mut self) {
        let mut pos = std::mem::take(&mut self.name_pos);
        pos.clear();
        pos.resize(self.rows.len(), u32::MAX);
        for (i, o) in self.orders[&SortField::Name].iter().enumerate() {
            pos[*o as usize] = i as u32;
        }
        self.name_pos = pos;
    }

    fn name_pos(&self, ord: u32) -> u32 {
        self.name_pos.get(ord as usize).copied().unwrap_or(u32::MAX)
    }

    /// How many ordinals have been given (the bound of every ordinal).
    pub fn ords(&self) -> usize {
        self.rows.len()
    }

    /// The rows whose folded name or acronym is `key`, and those whose folded name starts with
    /// it: ranges of the name order and a lookup, not a pass over the rows.
    pub fn named(&self, key: &str) -> (RoaringBitmap, RoaringBitmap) {
        let order = &self.orders[&SortField::Name];
        let name = |o: &u32| self.row(*o).map_or("", |r| &*r.sort_name);
        let lo = order.partition_point(|o| name(o) < key);
        let same = order.partition_point(|o| name(o) <= key);
        let starting = order.partition_point(|o| name(o) < key || name(o).starts_with(key));
        let mut exact: RoaringBitmap = order[lo..same].iter().copied().collect();
        if let Some(a) = self.acronyms.get(key) {
            exact |= a;
        }
        (exact, order[lo..starting].iter().copied().collect())
    }

    /// Ascending order of two live rows by a field, then id.
    fn cmp_rows(&self, a: u32, b: u32, field: SortField) -> Ordering {
        match (self.row(a), self.row(b)) {
            (Some(x), Some(y)) => cmp_field(x, y, field).then_with(|| x.id.cmp(&y.id)),
            _ => a.cmp(&b),
        }
    }

    /// Puts a row in place `ord` and in every index but the orders.
    fn index(&mut self, ord: u32, row: Row) {
        self.live.insert(ord);
        self.statuses.entry(row.status).or_default().insert(ord);
        self.kinds.entry(row.kind).or_default().insert(ord);
        slot(&mut self.countries, row.country).insert(ord);
        for s in row.sectors.iter() {
            slot(&mut self.sectors, *s).insert(ord);
        }
        if let Some(p) = &row.parent {
            self.children.entry(p.clone()).or_default().insert(ord);
        }
        if row.status == InstituteStatus::Active {
            slot(&mut self.country_totals, row.country).add(&row, 1);
        }
        for w in row.words() {
            *self.vocabulary.entry(w.into()).or_default() += 1;
        }
        self.name_words.add(&row.sort_name, 1);
        self.other_words.add(&row.other, 1);
        if let Some(a) = row.acronym_key() {
            self.acronyms.entry(a.into()).or_default().insert(ord);
        }
        self.by_id.insert(row.id.clone(), ord);
        self.by_slug.insert(row.slug.clone(), ord);
        self.columns.put(ord, &row);
        self.rows[ord as usize] = Some(row);
    }

    /// Takes a row out of every index but the orders.
    fn unindex(&mut self, ord: u32) -> Option<Row> {
        let row = self.rows.get_mut(ord as usize)?.take()?;
        self.live.remove(ord);
        if let Some(b) = self.statuses.get_mut(&row.status) {
            b.remove(ord);
        }
        if let Some(b) = self.kinds.get_mut(&row.kind) {
            b.remove(ord);
        }
        slot(&mut self.countries, row.country).remove(ord);
        for s in row.sectors.iter() {
            slot(&mut self.sectors, *s).remove(ord);
        }
        if let Some(p) = &row.parent {
            if let Some(b) = self.children.get_mut(p) {
                b.remove(ord);
            }
        }
        if row.status == InstituteStatus::Active {
            slot(&mut self.country_totals, row.country).add(&row, -1);
        }
        for w in row.words() {
            if let Some(n) = self.vocabulary.get_mut(w) {
                *n -= 1;
                if *n == 0 {
                    self.vocabulary.remove(w);
                }
            }
        }
        self.name_words.add(&row.sort_name, -1);
        self.other_words.add(&row.other, -1);
        if let Some(a) = row.acronym_key() {
            if let Some(b) = self.acronyms.get_mut(a.as_str()) {
                b.remove(ord);
                if b.is_empty() {
                    self.acronyms.remove(a.as_str());
                }
            }
        }
        self.by_id.remove(&row.id);
        if self.by_slug.get(&row.slug) == Some(&ord) {
            self.by_slug.remove(&row.slug);
        }
        Some(row)
    }

    /// Where a row stands (or would stand) in a field's order.
    fn position(&self, field: SortField, row: &Row) -> usize {
        let order = &self.orders[&field];
        order.partition_point(|o| match self.row(*o) {
            Some(x) => cmp_field(x, row, field).then_with(|| x.id.cmp(&row.id)) == Ordering::Less,
            None => true,
        })
    }

    /// Takes the rows of `ords` out of the orders (before their rows change or go).
    fn unorder(&mut self, ords: &[u32], bulk: bool) {
        if bulk {
            let gone: RoaringBitmap = ords.iter().copied().collect();
            for order in self.orders.values_mut() {
                order.retain(|o| !gone.contains(*o));
            }
            return;
        }
        for ord in ords {
            let Some(row) = self.row(*ord).cloned() else {
                continue;
            };
            for field in ORDERED {
                let at = self.position(field, &row);
                let order = self
                    .orders
                    .get_mut(&field)
                    .expect("every field has an order");
                if order.get(at) == Some(ord) {
                    order.remove(at);
                } else if let Some(i) = order.iter().position(|o| o == ord) {
                    order.remove(i);
                }
            }
        }
    }

    /// Puts the rows of `ords` into the orders.
    fn order(&mut self, ords: &[u32], bulk: bool) {
        if bulk {
            for field in ORDERED {
                let mut order = std::mem::take(self.orders.get_mut(&field).expect("order"));
                order.extend(ords.iter().copied().filter(|o| self.live.contains(*o)));
                order.sort_by(|a, b| self.cmp_rows(*a, *b, field));
                order.dedup();
                self.orders.insert(field, order);
            }
            return;
        }
        for ord in ords {
            let Some(row) = self.row(*ord).cloned() else {
                continue;
            };
            for field in ORDERED {
                let at = self.position(field, &row);
                self.orders
                    .get_mut(&field)
                    .expect("every field has an order")
                    .insert(at, *ord);
            }
        }
    }

    /// Applies changed institutes (their rows as they stand) and removed ones (by id); returns
    /// the ordinals of the rows now live among them and of those taken out.
    pub fn apply(&mut self, changed: &[Projected], removed: &[String]) -> (Vec<u32>, Vec<u32>) {
        let mut touched: Vec<u32> = Vec::new();
        let mut gone: Vec<u32> = Vec::new();
        for id in removed {
            if let Some(ord) = self.by_id.get(id.as_str()).copied() {
                touched.push(ord);
                gone.push(ord);
            }
        }
        // Whether the name order changes (a row comes, goes or is renamed).
        let mut names_moved = !gone.is_empty();
        let mut fresh: Vec<(u32, Row)> = Vec::with_capacity(changed.len());
        for p in changed {
            let row = self.row_of(p);
            let ord = match self.by_id.get(p.id.as_str()) {
                Some(ord) => {
                    touched.push(*ord);
                    names_moved |= self
                        .row(*ord)
                        .is_none_or(|old| old.sort_name != row.sort_name);
                    *ord
                }
                None => {
                    names_moved = true;
                    let ord = self.rows.len() as u32;
                    self.rows.push(None);
                    ord
                }
            };
            fresh.push((ord, row));
        }
        let bulk = touched.len() + fresh.len() > 2000;
        self.unorder(&touched, bulk);
        for ord in &touched {
            self.unindex(*ord);
        }
        let live: Vec<u32> = fresh.iter().map(|(o, _)| *o).collect();
        for (ord, row) in fresh {
            self.index(ord, row);
        }
        self.order(&live, bulk);
        if names_moved {
            self.reposition_names();
        }
        (live, gone)
    }

    /// The rows matching a filter (the search's hits, when it has a search).
    pub fn matching(&self, f: &InstituteFilter, hits: Option<&RoaringBitmap>) -> RoaringBitmap {
        let union = |maps: Vec<Option<&RoaringBitmap>>| -> RoaringBitmap {
            maps.into_iter()
                .flatten()
                .fold(RoaringBitmap::new(), |a, b| a | b)
        };
        let mut set = if f.statuses.is_empty() {
            self.live.clone()
        } else {
            union(f.statuses.iter().map(|s| self.statuses.get(s)).collect())
        };
        if let Some(hits) = hits {
            set &= hits;
        }
        if !f.kinds.is_empty() {
            set &= union(f.kinds.iter().map(|k| self.kinds.get(k)).collect());
        }
        let countries = |codes: &[String]| {
            union(
                codes
                    .iter()
                    .map(|c| {
                        self.country_names
                            .get(c)
                            .and_then(|i| self.countries.get(i as usize))
                    })
                    .collect(),
            )
        };
        if !f.countries.is_empty() {
            set &= countries(&f.countries);
        }
        if let Some(codes) = &f.region_countries {
            set &= countries(codes);
        }
        if !f.sectors.is_empty() {
            set &= union(
                f.sectors
                    .iter()
                    .map(|s| {
                        self.sector_names
                            .get(s)
                            .and_then(|i| self.sectors.get(i as usize))
                    })
                    .collect(),
            );
        }
        if let Some(parent) = &f.parent {
            set &= self
                .children
                .get(parent.as_str())
                .cloned()
                .unwrap_or_default();
        }
        if !f.ids.is_empty() {
            set &= f
                .ids
                .iter()
                .filter_map(|id| self.by_id.get(id.as_str()).copied())
                .collect::<RoaringBitmap>();
        }
        let within = |v: Option<i32>, lo: Option<i32>, hi: Option<i32>| {
            (lo.is_none() && hi.is_none())
                || v.is_some_and(|v| lo.is_none_or(|l| v >= l) && hi.is_none_or(|h| v <= h))
        };
        let ranged = f.founded_from.is_some()
            || f.founded_to.is_some()
            || f.headcount_min.is_some()
            || f.headcount_max.is_some()
            || f.budget_min_usd.is_some()
            || f.budget_max_usd.is_some()
            || f.updated_since.is_some();
        if ranged {
            let kept = set.iter().filter(|o| {
                let c = &self.columns;
                within(c.founded(*o), f.founded_from, f.founded_to)
                    && within(c.headcount(*o), f.headcount_min, f.headcount_max)
                    && ((f.budget_min_usd.is_none() && f.budget_max_usd.is_none())
                        || if f.ppp {
                            c.budget_ppp(*o)
                        } else {
                            c.budget_usd(*o)
                        }
                        .is_some_and(|b| {
                            f.budget_min_usd.is_none_or(|l| b >= l)
                                && f.budget_max_usd.is_none_or(|h| b <= h)
                        }))
                    && f.updated_since
                        .is_none_or(|t| self.row(*o).is_some_and(|r| r.updated >= t))
            });
            // In order already: appended, not inserted.
            set = RoaringBitmap::from_sorted_iter(kept).unwrap_or_default();
        }
        set
    }

    /// The sort values of a row under `keys` (relevance from `ranks`).
    pub fn values(&self, ord: u32, keys: &[SortKey], ranks: &Ranks) -> Vec<SortValue> {
        let Some(row) = self.row(ord) else {
            return Vec::new();
        };
        keys.iter()
            .map(|k| match k.field {
                SortField::Relevance => SortValue::Float(ranks.value(ord)),
                f => row.value(f),
            })
            .collect()
    }

    /// Compares two rows under `keys`, then by id. Relevance sorts best (highest) first.
    fn cmp_under(&self, a: u32, b: u32, keys: &[SortKey], ranks: &Ranks) -> Ordering {
        let (Some(x), Some(y)) = (self.row(a), self.row(b)) else {
            return a.cmp(&b);
        };
        for k in keys {
            let o = match k.field {
                SortField::Relevance => ranks.value(b).total_cmp(&ranks.value(a)),
                f if !k.descending => cmp_field(x, y, f),
                f => cmp_key(&x.value(f), &y.value(f), true),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        x.id.cmp(&y.id)
    }

    /// Whether a row comes after the keyset under `keys`.
    fn after(&self, ord: u32, keys: &[SortKey], k: &Keyset, ranks: &Ranks) -> bool {
        let Some(row) = self.row(ord) else {
            return false;
        };
        for (key, cursor) in keys.iter().zip(&k.values) {
            let o = match key.field {
                SortField::Relevance => match cursor {
                    SortValue::Float(c) => c.total_cmp(&ranks.value(ord)),
                    _ => Ordering::Greater,
                },
                // Names compare without building a value.
                SortField::Name => match cursor {
                    SortValue::Text(c) if key.descending => c.as_str().cmp(&row.sort_name),
                    SortValue::Text(c) => row.sort_name.as_ref().cmp(c.as_str()),
                    _ => cmp_key(&row.value(SortField::Name), cursor, key.descending),
                },
                f => cmp_key(&row.value(f), cursor, key.descending),
            };
            if o != Ordering::Equal {
                return o == Ordering::Greater;
            }
        }
        &*row.id > k.id.as_str()
    }

    /// Every row of `set` in the order of `keys` (then id) after `after`, `limit` at most
    /// (all of them with `None`).
    pub fn ordered(
        &self,
        set: &RoaringBitmap,
        keys: &[SortKey],
        after: Option<&Keyset>,
        limit: Option<usize>,
        ranks: &Ranks,
    ) -> Vec<u32> {
        let first = keys.first().copied().unwrap_or(SortKey {
            field: SortField::Name,
            descending: false,
        });
        let wanted = limit.unwrap_or(usize::MAX);
        let keep = |o: &u32| after.is_none_or(|k| self.after(*o, keys, k, ranks));
        if first.field == SortField::Relevance {
            // Each hit's rank read once; ties broken by the name order's positions when the
            // name is the only other key (a search's default), else by the other keys.
            let rest = &keys[1..];
            let by_name = matches!(
                rest,
                [SortKey {
                    field: SortField::Name,
                    descending: false
                }]
            );
            let mut rows: Vec<(f64, u32)> = set
                .iter()
                .filter(keep)
                .map(|o| (ranks.value(o), o))
                .collect();
            let cmp = |a: &(f64, u32), b: &(f64, u32)| {
                b.0.total_cmp(&a.0).then_with(|| {
                    if by_name {
                        self.name_pos(a.1).cmp(&self.name_pos(b.1))
                    } else {
                        self.cmp_under(a.1, b.1, rest, ranks)
                    }
                })
            };
            if wanted < rows.len() {
                rows.select_nth_unstable_by(wanted, cmp);
                rows.truncate(wanted);
            }
            rows.sort_by(cmp);
            return rows.into_iter().map(|(_, o)| o).collect();
        }
        if set.len() < SORT_BELOW || limit.is_none() {
            let mut rows: Vec<u32> = set.iter().filter(keep).collect();
            let cmp = |a: &u32, b: &u32| self.cmp_under(*a, *b, keys, ranks);
            if wanted < rows.len() {
                rows.select_nth_unstable_by(wanted, cmp);
                rows.truncate(wanted);
            }
            rows.sort_by(cmp);
            return rows;
        }
        // Walk the first key's order, a group of equal values at a time.
        let order = &self.orders[&first.field];
        let value = |o: u32| match self.columns.value(o, first.field) {
            Some(v) => Some(v),
            None => self.row(o).map(|r| r.value(first.field)),
        };
        let n = order.len();
        // Non-missing values run [0, split), missing ones [split, n).
        let split = order.partition_point(|o| value(*o).is_some_and(|v| v != SortValue::Null));
        let mut out = Vec::new();
        let take_group = |range: std::ops::Range<usize>, out: &mut Vec<u32>| -> bool {
            let mut group: Vec<u32> = order[range]
                .iter()
                .copied()
                .filter(|o| set.contains(*o))
                .filter(keep)
                .collect();
            if group.len() > 1 && keys.len() > 1 || first.descending {
                group.sort_by(|a, b| self.cmp_under(*a, *b, keys, ranks));
            }
            for o in group {
                out.push(o);
                if out.len() >= wanted {
                    return true;
                }
            }
            false
        };
        // Where the cursor's group starts (ascending) or ends (descending).
        let start_value = after.and_then(|k| k.values.first());
        if !first.descending {
            let mut i = match start_value {
                None => 0,
                Some(SortValue::Null) => split,
                Some(v) => order[..split].partition_point(|o| {
                    value(*o).is_some_and(|x| cmp_values(&x, v) == Ordering::Less)
                }),
            };
            while i < n {
                let v = value(order[i]);
                let mut j = i + 1;
                while j < n && value(order[j]) == v {
                    j += 1;
                }
                if take_group(i..j, &mut out) {
                    break;
                }
                i = j;
            }
        } else {
            let mut end = match start_value {
                None => split,
                Some(SortValue::Null) => 0,
                Some(v) => order[..split].partition_point(|o| {
                    value(*o).is_some_and(|x| cmp_values(&x, v) != Ordering::Greater)
                }),
            };
            let mut done = false;
            while end > 0 {
                let v = value(order[end - 1]);
                let mut i = end - 1;
                while i > 0 && value(order[i - 1]) == v {
                    i -= 1;
                }
                if take_group(i..end, &mut out) {
                    done = true;
                    break;
                }
                end = i;
            }
            if !done && split < n {
                take_group(split..n, &mut out);
            }
        }
        out
    }

    /// The totals of every country's active institutes.
    pub fn country_totals(&self) -> Vec<(&str, CountryTotals)> {
        self.country_totals
            .iter()
            .enumerate()
            .map(|(i, t)| (self.country_names.name(i as u16), *t))
            .collect()
    }

    /// How many active institutes each sector holds.
    pub fn sector_counts(&self) -> HashMap<String, u64> {
        let empty = RoaringBitmap::new();
        let active = self
            .statuses
            .get(&InstituteStatus::Active)
            .unwrap_or(&empty);
        self.sectors
            .iter()
            .enumerate()
            .map(|(i, b)| {
                (
                    self.sector_names.name(i as u16).to_string(),
                    b.intersection_len(active),
                )
            })
            .collect()
    }
}
