//! Request bodies: read from JSON values field by field, so that every problem of a body is
//! reported at once, each with the JSON pointer of its field.

use super::figures::BudgetKind;
use super::ids::{is_slug, RESERVED_SLUGS};
use super::institute::{InstituteKind, InstituteStatus};
use crate::model::FieldError;
use chrono::Datelike;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// The codes and slugs input is checked against.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    pub countries: HashSet<String>,
    pub jurisdictions: HashSet<String>,
    pub currencies: HashSet<String>,
    pub sectors: HashSet<String>,
}

/// Reads fields out of a JSON object, collecting every problem with its pointer.
pub struct Reader {
    pub errors: Vec<FieldError>,
}

pub fn current_year() -> i32 {
    chrono::Utc::now().year()
}

/// A JSON pointer's token for `key` (RFC 6901: `~` and `/` escaped).
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Unicode's bidirectional formatting characters, which reorder how text is displayed
/// ("Trojan Source"): embeddings, overrides and isolates, and the implicit marks.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

impl Reader {
    pub fn new() -> Reader {
        Reader { errors: Vec::new() }
    }

    pub fn fail(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(pointer, message));
    }

    /// The value as an object with only `allowed` keys; each unknown key is an error.
    pub fn object<'v>(
        &mut self,
        value: &'v Value,
        pointer: &str,
        allowed: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Some(obj) = value.as_object() else {
            self.fail(
                if pointer.is_empty() { "/" } else { pointer },
                "must be a JSON object",
            );
            return None;
        };
        for key in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
            self.fail(
                format!("{pointer}/{}", escape(key)),
                format!("unknown field; accepted: {}", allowed.join(", ")),
            );
        }
        Some(obj)
    }

    fn text(&mut self, value: &Value, at: &str, max: usize) -> Option<String> {
        let Some(s) = value.as_str() else {
            self.fail(at, "must be a string");
            return None;
        };
        let trimmed = s.trim();
        if trimmed.is_empty() {
            self.fail(at, "must not be empty");
            None
        } else if s.chars().count() > max {
            // Counted as sent (spaces around included), as the schema's maxLength counts.
            self.fail(at, format!("at most {max} characters"));
            None
        } else if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            self.fail(at, "must not contain control characters (NUL included)");
            None
        } else if trimmed.chars().any(is_bidi_control) {
            self.fail(
                at,
                "must not contain bidirectional control characters (U+202A to U+202E, U+2066 \
                 to U+2069, U+200E, U+200F, U+061C): they make text display other than it reads",
            );
            None
        } else {
            Some(trimmed.to_string())
        }
    }

    /// A required string of 1..=max characters (trimmed).
    pub fn string(
        &mut self,
        obj: &Map<String, Value>,
        ptr: &str,
        key: &str,
        max: usize,
    ) -> Option<String> {
        let at = format!("{ptr}/{key}");
        match obj.get(key) {
            None | Some(Value::Null) => {
                self.fail(at, "required");
                None
            }
            Some(v) => self.text(v, &at, max),
        }
    }

    /// An optional string; absent and null both mean none.
    pub fn opt_string(
        &mut self,
        obj: &Map<String, Value>,
        ptr: &str,
        key: &str,
        max: usize,
    ) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => self.text(v, &format!("{ptr}/{key}"), max),
        }
    }

    fn integer(&mut self, value: &Value, at: &str, min: i64, max: i64) -> Option<i64> {
        match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.fail(at, format!("must be an integer from {min} to {max}"));
                None
            }
        }
    }

    pub fn int(
        &mut self,
        obj: &Map<String, Value>,
        ptr: &str,
        key: &str,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        let at = format!("{ptr}/{key}");
        match obj.get(key) {
            None | Some(Value::Null) => {
                self.fail(at, "required");
                None
            }
            Some(v) => self.integer(v, &at, min, max),
        }
    }

    pub fn opt_int(
        &mut self,
        obj: &Map<String, Value>,
        ptr: &str,
        key: &str,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => self.integer(v, &format!("{ptr}/{key}"), min, max),
        }
    }

    /// A string that `parse` accepts; `what` lists the accepted values.
    pub fn choice<T>(
        &mut self,
        obj: &Map<String, Value>,
        ptr: &str,
        key: &str,
        required: bool,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let at = format!("{ptr}/{key}");
        match obj.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.fail(at, format!("required; one of {what}"));
                }
                None
            }
            Some(Value::String(s)) => {
                let parsed = parse(s);
                if parsed.is_none() {
                    self.fail(
                        at,
                        format!("unknown value '{}'; one of {what}", s.escape_debug()),
                    );
                }
                parsed
            }
            Some(_) => {
                self.fail(at, format!("must be a string, one of {what}"));
                None
            }
        }
    }

    /// An optional array of distinct strings, each 1..=max_len characters, at most `max_items`.
    pub fn strings(
        &mut self,
        obj: &Map<String, Value>,
        ptr: &str,
        key: &str,
        max_items: usize,
        max_len: usize,
    ) -> Vec<String> {
        let at = format!("{ptr}/{key}");
        let items = match obj.get(key) {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.fail(at, "must be an array of strings");
                return Vec::new();
            }
        };
        if items.len() > max_items {
            self.fail(at, format!("at most {max_items} items"));
            return Vec::new();
        }
        let mut out: Vec<String> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(s) = self.text(item, &format!("{at}/{i}"), max_len) {
                if out.contains(&s) {
                    self.fail(format!("{at}/{i}"), "duplicate value");
                } else {
                    out.push(s);
                }
            }
        }
        out
    }

    /// A code from a known set (upper-case ISO codes).
    pub fn code(
        &mut self,
        obj: &Map<String, Value>,
        ptr: &str,
        key: &str,
        known: &HashSet<String>,
        what: &str,
    ) -> Option<String> {
        let value = self.string(obj, ptr, key, 8)?;
        if known.contains(&value) {
            Some(value)
        } else {
            self.fail(format!("{ptr}/{key}"), format!("'{value}' is not {what}"));
            None
        }
    }

    /// An optional http(s) URL.
    /// A required source: a citation, or a URL, which must then be http or https (a
    /// `javascript:` or `data:` source, or one with another scheme and an authority such as
    /// `ftp://…`, is refused; `doi:…` and other citations pass).
    pub fn source(&mut self, obj: &Map<String, Value>, ptr: &str, key: &str) -> Option<String> {
        let value = self.string(obj, ptr, key, 2000)?;
        match url::Url::parse(&value) {
            Ok(u)
                if u.scheme() != "http"
                    && u.scheme() != "https"
                    && (u.has_authority()
                        || ["javascript", "data", "vbscript", "file", "blob"]
                            .contains(&u.scheme())) =>
            {
                self.fail(
                    format!("{ptr}/{key}"),
                    format!(
                        "a citation, or an http or https URL (not a {}: URL)",
                        u.scheme()
                    ),
                );
                None
            }
            _ => Some(value),
        }
    }

    pub fn url(&mut self, obj: &Map<String, Value>, ptr: &str, key: &str) -> Option<String> {
        let value = self.opt_string(obj, ptr, key, 2000)?;
        match url::Url::parse(&value) {
            Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host_str().is_some() => {
                Some(value)
            }
            _ => {
                self.fail(
                    format!("{ptr}/{key}"),
                    "must be an absolute http or https URL",
                );
                None
            }
        }
    }

    pub fn finish<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err(self.errors),
        }
    }
}

impl Default for Reader {
    fn default() -> Self {
        Reader::new()
    }
}

/// Identifiers in other registries, as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExternalIdsInput {
    pub ror: Option<String>,
    pub wikidata: Option<String>,
    pub grid: Option<String>,
}

/// A checked institute body (POST, PUT, or the result of a merge patch).
#[derive(Debug, Clone, PartialEq)]
pub struct InstituteInput {
    pub slug: Option<String>,
    pub name: String,
    pub acronym: Option<String>,
    pub aliases: Vec<String>,
    pub kind: InstituteKind,
    pub status: InstituteStatus,
    pub country: String,
    pub city: Option<String>,
    pub founded: Option<i32>,
    pub website: Option<String>,
    pub description: Option<String>,
    pub sectors: Vec<String>,
    pub parent: Option<String>,
    pub external_ids: ExternalIdsInput,
    pub unverified_fields: Vec<String>,
}

pub const INSTITUTE_FIELDS: &[&str] = &[
    "slug",
    "name",
    "acronym",
    "aliases",
    "kind",
    "status",
    "country",
    "city",
    "founded",
    "website",
    "description",
    "sectors",
    "parent",
    "external_ids",
    "unverified_fields",
];

fn pattern_ok(value: &str, key: &str) -> bool {
    let b = value.as_bytes();
    match key {
        // ROR ids: 9 characters, a leading 0, lower-case base32 (Crockford) and two check digits.
        "ror" => {
            b.len() == 9
                && b[0] == b'0'
                && b[1..7]
                    .iter()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
                && b[7..].iter().all(u8::is_ascii_digit)
        }
        "wikidata" => {
            b.len() >= 2
                && b.len() <= 12
                && b[0] == b'Q'
                && b[1] != b'0'
                && b[1..].iter().all(u8::is_ascii_digit)
        }
        "grid" => {
            value.starts_with("grid.")
                && value.len() <= 40
                && value[5..].split('.').count() == 2
                && value[5..]
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric()))
        }
        _ => false,
    }
}

impl InstituteInput {
    /// Reads an institute body; `vocab` supplies the known codes and sectors.
    pub fn read(value: &Value, vocab: &Vocabulary) -> Result<InstituteInput, Vec<FieldError>> {
        let mut r = Reader::new();
        let Some(obj) = r.object(value, "", INSTITUTE_FIELDS) else {
            return Err(r.errors);
        };
        let slug = r.opt_string(obj, "", "slug", 100);
        if let Some(s) = &slug {
            if !is_slug(s) {
                r.fail("/slug", "must match [a-z0-9-]{1,100}");
            } else if RESERVED_SLUGS.contains(&s.as_str()) {
                r.fail(
                    "/slug",
                    format!("'{s}' is reserved: /v1/institutes/{s} is an endpoint"),
                );
            }
        }
        let name = r.string(obj, "", "name", 300);
        let acronym = r.opt_string(obj, "", "acronym", 50);
        let aliases = r.strings(obj, "", "aliases", 50, 300);
        let kind = r.choice(
            obj,
            "",
            "kind",
            true,
            &InstituteKind::names(),
            InstituteKind::parse,
        );
        let status = r
            .choice(
                obj,
                "",
                "status",
                false,
                &InstituteStatus::names(),
                InstituteStatus::parse,
            )
            .unwrap_or(InstituteStatus::Active);
        let country = r.code(
            obj,
            "",
            "country",
            &vocab.countries,
            "an ISO 3166-1 alpha-2 country code",
        );
        let city = r.opt_string(obj, "", "city", 100);
        let founded = r
            .opt_int(obj, "", "founded", 1000, i64::from(current_year()))
            .map(|y| y as i32);
        let website = r.url(obj, "", "website");
        let description = r.opt_string(obj, "", "description", 5000);
        let sectors = r.strings(obj, "", "sectors", 25, 100);
        for (i, s) in sectors.iter().enumerate() {
            if !vocab.sectors.contains(s) {
                r.fail(
                    format!("/sectors/{i}"),
                    format!("unknown sector '{s}'; see /v1/sectors"),
                );
            }
        }
        let parent = r.opt_string(obj, "", "parent", 200);
        let mut external_ids = ExternalIdsInput::default();
        if let Some(v) = obj.get("external_ids").filter(|v| !v.is_null()) {
            if let Some(ids) = r.object(v, "/external_ids", &["ror", "wikidata", "grid"]) {
                for key in ["ror", "wikidata", "grid"] {
                    let value = r.opt_string(ids, "/external_ids", key, 40);
                    if let Some(v) = &value {
                        if !pattern_ok(v, key) {
                            r.fail(
                                format!("/external_ids/{key}"),
                                match key {
                                    "ror" => "must be a ROR id such as 035dkdb55 (no URL prefix)",
                                    "wikidata" => "must be a Wikidata item id such as Q20730803",
                                    _ => "must be a GRID id such as grid.499548.d",
                                },
                            );
                        }
                    }
                    match key {
                        "ror" => external_ids.ror = value,
                        "wikidata" => external_ids.wikidata = value,
                        _ => external_ids.grid = value,
                    }
                }
            }
        }
        let unverified_fields = r.strings(obj, "", "unverified_fields", 20, 40);
        for (i, f) in unverified_fields.iter().enumerate() {
            if !INSTITUTE_FIELDS.contains(&f.as_str()) {
                r.fail(
                    format!("/unverified_fields/{i}"),
                    format!("'{f}' is not a field of the record"),
                );
            }
        }
        let input = match (name, kind, country) {
            (Some(name), Some(kind), Some(country)) => Some(InstituteInput {
                slug,
                name,
                acronym,
                aliases,
                kind,
                status,
                country,
                city,
                founded,
                website,
                description,
                sectors,
                parent,
                external_ids,
                unverified_fields,
            }),
            _ => None,
        };
        r.finish(input)
    }
}

/// A checked budget entry body.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetInput {
    pub year: i32,
    pub kind: BudgetKind,
    pub amount: i64,
    pub currency: String,
    pub period_end: Option<i32>,
    pub source: String,
    pub note: Option<String>,
}

/// The largest amount accepted, in major units (a thousand trillion).
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

impl BudgetInput {
    /// The input form of a stored figure.
    pub fn of(b: &super::figures::BudgetFigure) -> BudgetInput {
        BudgetInput {
            year: b.year,
            kind: b.kind,
            amount: b.amount,
            currency: b.currency.clone(),
            period_end: b.period_end,
            source: b.source.clone(),
            note: b.note.clone(),
        }
    }

    /// The stored figure of this input, as entry `id`.
    pub fn figure(&self, id: &str) -> super::figures::BudgetFigure {
        super::figures::BudgetFigure {
            id: id.to_string(),
            year: self.year,
            kind: self.kind,
            amount: self.amount,
            currency: self.currency.clone(),
            period_end: self.period_end,
            source: self.source.clone(),
            note: self.note.clone(),
        }
    }

    pub fn read(value: &Value, vocab: &Vocabulary) -> Result<BudgetInput, Vec<FieldError>> {
        let mut r = Reader::new();
        let fields = [
            "year",
            "kind",
            "amount",
            "currency",
            "period_end",
            "source",
            "note",
        ];
        let Some(obj) = r.object(value, "", &fields) else {
            return Err(r.errors);
        };
        let max_year = i64::from(current_year()) + 10;
        let year = r.int(obj, "", "year", 1900, max_year).map(|y| y as i32);
        let kind = r.choice(
            obj,
            "",
            "kind",
            true,
            &BudgetKind::names(),
            BudgetKind::parse,
        );
        let amount = r.int(obj, "", "amount", 0, MAX_AMOUNT);
        let currency = r.code(
            obj,
            "",
            "currency",
            &vocab.currencies,
            "an ISO 4217 currency code",
        );
        let period_end = r
            .opt_int(obj, "", "period_end", 1900, max_year + 50)
            .map(|y| y as i32);
        if let (Some(end), Some(kind)) = (period_end, kind) {
            if kind != BudgetKind::MultiYear {
                r.fail("/period_end", "only a multi_year figure has a period end");
            } else if year.is_some_and(|y| end < y) {
                r.fail("/period_end", "must not be before year");
            }
        }
        let source = r.source(obj, "", "source");
        let note = r.opt_string(obj, "", "note", 2000);
        let input = match (year, kind, amount, currency, source) {
            (Some(year), Some(kind), Some(amount), Some(currency), Some(source)) => {
                Some(BudgetInput {
                    year,
                    kind,
                    amount,
                    currency,
                    period_end,
                    source,
                    note,
                })
            }
            _ => None,
        };
        r.finish(input)
    }
}

/// A checked headcount entry body.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadcountInput {
    pub year: i32,
    pub researchers: Option<i32>,
    pub staff: Option<i32>,
    pub basis: String,
    pub source: String,
}

impl HeadcountInput {
    /// The input form of a stored entry.
    pub fn of(h: &super::figures::HeadcountEntry) -> HeadcountInput {
        HeadcountInput {
            year: h.year,
            researchers: h.researchers,
            staff: h.staff,
            basis: h.basis.clone(),
            source: h.source.clone(),
        }
    }

    /// The stored entry of this input, as entry `id`.
    pub fn entry(&self, id: &str) -> super::figures::HeadcountEntry {
        super::figures::HeadcountEntry {
            id: id.to_string(),
            year: self.year,
            researchers: self.researchers,
            staff: self.staff,
            basis: self.basis.clone(),
            source: self.source.clone(),
        }
    }

    pub fn read(value: &Value) -> Result<HeadcountInput, Vec<FieldError>> {
        let mut r = Reader::new();
        let fields = ["year", "researchers", "staff", "basis", "source"];
        let Some(obj) = r.object(value, "", &fields) else {
            return Err(r.errors);
        };
        let year = r
            .int(obj, "", "year", 1900, i64::from(current_year()))
            .map(|y| y as i32);
        let researchers = r
            .opt_int(obj, "", "researchers", 0, 10_000_000)
            .map(|n| n as i32);
        let staff = r.opt_int(obj, "", "staff", 0, 10_000_000).map(|n| n as i32);
        let counted = |k: &str| obj.get(k).is_some_and(|v| !v.is_null());
        if !counted("researchers") && !counted("staff") {
            r.fail("/researchers", "give researchers, staff, or both");
        }
        let basis = r.string(obj, "", "basis", 500);
        let source = r.source(obj, "", "source");
        let input = match (year, basis, source) {
            (Some(year), Some(basis), Some(source)) => Some(HeadcountInput {
                year,
                researchers,
                staff,
                basis,
                source,
            }),
            _ => None,
        };
        r.finish(input)
    }
}

/// RFC 7396 JSON merge patch: applies `patch` to `target`.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(changes) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(map) = target {
                for (key, change) in changes {
                    if change.is_null() {
                        map.remove(key);
                    } else {
                        merge_patch(map.entry(key.clone()).or_insert(Value::Null), change);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vocab() -> Vocabulary {
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Vocabulary {
            countries: set(&["GB", "CA"]),
            jurisdictions: set(&["GB", "CA", "EU"]),
            currencies: set(&["GBP", "USD"]),
            sectors: set(&["healthcare"]),
        }
    }

    #[test]
    fn reports_every_problem_with_its_pointer() {
        let body = json!({"name": "", "kind": "castle", "country": "XX", "founded": 3000,
            "website": "ftp://x", "sectors": ["healthcare", "nope"], "colour": "red",
            "external_ids": {"ror": "https://ror.org/035dkdb55"}, "aliases": ["a\u{0}b"]});
        let errors = InstituteInput::read(&body, &vocab()).unwrap_err();
        let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        fields.sort();
        assert_eq!(
            fields,
            vec![
                "/aliases/0",
                "/colour",
                "/country",
                "/external_ids/ror",
                "/founded",
                "/kind",
                "/name",
                "/sectors/1",
                "/website"
            ]
        );
    }

    #[test]
    fn accepts_a_minimal_body() {
        let body = json!({"name": " Vector Institute ", "kind": "non_profit", "country": "CA"});
        let input = InstituteInput::read(&body, &vocab()).unwrap();
        assert_eq!(input.name, "Vector Institute");
        assert_eq!(input.status, InstituteStatus::Active);
    }

    #[test]
    fn budget_rules() {
        let ok = json!({"year": 2024, "kind": "multi_year", "amount": 5, "currency": "GBP",
            "period_end": 2028, "source": "https://example.org"});
        assert!(BudgetInput::read(&ok, &vocab()).is_ok());
        let bad = json!({"year": 2024, "kind": "annual", "amount": -5, "currency": "XXX",
            "period_end": 2028, "source": ""});
        let errors = BudgetInput::read(&bad, &vocab()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["/amount", "/currency", "/period_end", "/source"]
        );
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut doc, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}}));
        merge_patch(&mut doc, &json!(["x"]));
        assert_eq!(doc, json!(["x"]));
    }
}

/// A checked programme body.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramInput {
    pub slug: Option<String>,
    pub jurisdiction: String,
    pub name: String,
    pub amount: i64,
    pub currency: String,
    pub announced: i32,
    pub period: Option<String>,
    pub public_or_private: Option<String>,
    pub source: String,
    pub description: Option<String>,
}

impl ProgramInput {
    pub fn read(value: &Value, vocab: &Vocabulary) -> Result<ProgramInput, Vec<FieldError>> {
        let mut r = Reader::new();
        let fields = [
            "slug",
            "jurisdiction",
            "name",
            "amount",
            "currency",
            "announced",
            "period",
            "public_or_private",
            "source",
            "description",
        ];
        let Some(obj) = r.object(value, "", &fields) else {
            return Err(r.errors);
        };
        let slug = r.opt_string(obj, "", "slug", 100);
        if slug.as_deref().is_some_and(|s| !is_slug(s)) {
            r.fail("/slug", "must match [a-z0-9-]{1,100}");
        }
        let jurisdiction = r.code(
            obj,
            "",
            "jurisdiction",
            &vocab.jurisdictions,
            "an ISO 3166-1 alpha-2 code or EU",
        );
        let name = r.string(obj, "", "name", 300);
        let amount = r.int(obj, "", "amount", 0, MAX_AMOUNT);
        let currency = r.code(
            obj,
            "",
            "currency",
            &vocab.currencies,
            "an ISO 4217 currency code",
        );
        let announced = r
            .int(obj, "", "announced", 1900, i64::from(current_year()))
            .map(|y| y as i32);
        let period = r.opt_string(obj, "", "period", 200);
        let public_or_private = r.opt_string(obj, "", "public_or_private", 200);
        let source = r.source(obj, "", "source");
        let description = r.opt_string(obj, "", "description", 5000);
        let input = match (jurisdiction, name, amount, currency, announced, source) {
            (
                Some(jurisdiction),
                Some(name),
                Some(amount),
                Some(currency),
                Some(announced),
                Some(source),
            ) => Some(ProgramInput {
                slug,
                jurisdiction,
                name,
                amount,
                currency,
                announced,
                period,
                public_or_private,
                source,
                description,
            }),
            _ => None,
        };
        r.finish(input)
    }
}

/// A checked sector body; `slug` is required on creation only.
#[derive(Debug, Clone, PartialEq)]
pub struct SectorInput {
    pub slug: Option<String>,
    pub name: String,
    pub description: Option<String>,
}

impl SectorInput {
    pub fn read(value: &Value) -> Result<SectorInput, Vec<FieldError>> {
        let mut r = Reader::new();
        let Some(obj) = r.object(value, "", &["slug", "name", "description"]) else {
            return Err(r.errors);
        };
        let slug = r.opt_string(obj, "", "slug", 100);
        if slug.as_deref().is_some_and(|s| !is_slug(s)) {
            r.fail("/slug", "must match [a-z0-9-]{1,100}");
        }
        let name = r.string(obj, "", "name", 100);
        let description = r.opt_string(obj, "", "description", 2000);
        let input = name.map(|name| SectorInput {
            slug,
            name,
            description,
        });
        r.finish(input)
    }
}

/// A checked exchange-rate body.
#[derive(Debug, Clone, PartialEq)]
pub struct RateInput {
    pub units_per_usd: f64,
    pub source: String,
}

impl RateInput {
    pub fn read(value: &Value) -> Result<RateInput, Vec<FieldError>> {
        let mut r = Reader::new();
        let Some(obj) = r.object(value, "", &["units_per_usd", "source"]) else {
            return Err(r.errors);
        };
        let units = match obj.get("units_per_usd").and_then(Value::as_f64) {
            Some(v) if v.is_finite() && v > 0.0 && v < 1e12 => Some(v),
            _ => {
                r.fail(
                    "/units_per_usd",
                    "required: a positive number of units per 1 USD",
                );
                None
            }
        };
        let source = r.source(obj, "", "source");
        let input = match (units, source) {
            (Some(units_per_usd), Some(source)) => Some(RateInput {
                units_per_usd,
                source,
            }),
            _ => None,
        };
        r.finish(input)
    }
}

/// A country's indicators of one year, as an admin writes them: each value optional (null or
/// absent where the source publishes none), at least one given, and the source.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorInput {
    pub population: Option<i64>,
    pub gdp_current_usd: Option<f64>,
    pub ppp_lcu_per_intl_dollar: Option<f64>,
    pub source: String,
}

impl IndicatorInput {
    pub fn read(value: &Value) -> Result<IndicatorInput, Vec<FieldError>> {
        let mut r = Reader::new();
        let Some(obj) = r.object(
            value,
            "",
            &[
                "population",
                "gdp_current_usd",
                "ppp_lcu_per_intl_dollar",
                "source",
            ],
        ) else {
            return Err(r.errors);
        };
        fn number(
            r: &mut Reader,
            obj: &Map<String, Value>,
            key: &str,
            max: f64,
            what: &str,
        ) -> Option<f64> {
            match obj.get(key) {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_f64() {
                    Some(n) if n.is_finite() && n > 0.0 && n < max => Some(n),
                    _ => {
                        r.fail(format!("/{key}"), format!("{what}, or null"));
                        None
                    }
                },
            }
        }
        let population = number(
            &mut r,
            obj,
            "population",
            1e11,
            "a positive whole number of people",
        );
        let population = match population {
            Some(p) if p.fract() != 0.0 => {
                r.fail("/population", "a positive whole number of people, or null");
                None
            }
            p => p.map(|p| p as i64),
        };
        let gdp = number(
            &mut r,
            obj,
            "gdp_current_usd",
            1e16,
            "a positive amount of US dollars",
        );
        let ppp = number(
            &mut r,
            obj,
            "ppp_lcu_per_intl_dollar",
            1e9,
            "a positive number of currency units per international dollar",
        );
        if population.is_none() && gdp.is_none() && ppp.is_none() && r.errors.is_empty() {
            r.fail(
                "",
                "give at least one of population, gdp_current_usd, ppp_lcu_per_intl_dollar",
            );
        }
        let source = r.source(obj, "", "source");
        let input = source.map(|source| IndicatorInput {
            population,
            gdp_current_usd: gdp,
            ppp_lcu_per_intl_dollar: ppp,
            source,
        });
        r.finish(input)
    }
}
