//! The file formats institutes are exported to and imported from: CSV (RFC 4180, one row per
//! institute, the columns below), NDJSON (one record per line) and a JSON array of records.
//!
//! A record is the institute as the API shows it. On import, fields the registry derives
//! (`children`, `latest_budget`, `latest_headcount`, and their CSV columns) are recognised and
//! ignored; everything else is read with the API's own rules. A record may also carry its
//! whole budget and headcount series (`budgets`, `headcounts`), which the command-line export
//! always writes, so that a file is a complete copy of the registry's institutes.

use super::figures::{BudgetFigure, HeadcountEntry};
use super::input::{BudgetInput, HeadcountInput, InstituteInput, Vocabulary};
use super::institute::Institute;
use crate::model::FieldError;
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// One JSON record per line.
    Ndjson,
    /// One JSON array of records.
    Json,
}

impl FileFormat {
    pub fn parse(name: &str) -> Option<FileFormat> {
        match name {
            "csv" => Some(FileFormat::Csv),
            "ndjson" | "jsonl" => Some(FileFormat::Ndjson),
            "json" => Some(FileFormat::Json),
            _ => None,
        }
    }

    /// The format a file's name or first bytes suggest: `.csv`, `.ndjson`/`.jsonl` and `.json`
    /// by name; else `[` starts a JSON array, `{` NDJSON, anything else CSV.
    pub fn detect(path: &str, head: &[u8]) -> FileFormat {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            return FileFormat::Csv;
        }
        if lower.ends_with(".ndjson") || lower.ends_with(".jsonl") {
            return FileFormat::Ndjson;
        }
        if lower.ends_with(".json") {
            return FileFormat::Json;
        }
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => FileFormat::Json,
            Some(b'{') => FileFormat::Ndjson,
            _ => FileFormat::Csv,
        }
    }
}

/// The CSV columns, in order. Lists (aliases, sectors, unverified fields) are joined with `|`.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
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
    "parent_id",
    "parent_slug",
    "ror",
    "wikidata",
    "grid",
    "headcount_year",
    "researchers",
    "staff",
    "budget_year",
    "budget_kind",
    "budget_basis",
    "budget_amount",
    "budget_currency",
    "budget_amount_usd",
    "unverified_fields",
    "created_at",
    "updated_at",
    "version",
];

/// CSV columns the registry derives from the figures: read past on import.
const DERIVED_COLUMNS: &[&str] = &[
    "headcount_year",
    "researchers",
    "staff",
    "budget_year",
    "budget_kind",
    "budget_basis",
    "budget_amount",
    "budget_currency",
    "budget_amount_usd",
];

/// Columns the command-line export adds: each institute's whole series, as JSON arrays.
pub const SERIES_COLUMNS: &[&str] = &["budgets", "headcounts"];

/// Record fields the registry derives: read past on import.
const DERIVED_FIELDS: &[&str] = &[
    "children",
    "children_total",
    "latest_budget",
    "latest_headcount",
    "ancestors",
    "ancestors_truncated",
    "descendants",
    "descendants_truncated",
];

fn join(values: &[String]) -> String {
    values.join("|")
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// How timestamps are written: RFC 3339, UTC, microseconds (what both backends store).
pub fn timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Whether a spreadsheet would take `cell` as a formula: it starts with `=`, `+`, `-`, `@`, a tab
/// or a carriage return and is not a plain number; or it is such a cell already neutralised
/// (so that neutralising stays reversible).
fn formula_like(cell: &str) -> bool {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => {
            !cell.parse::<f64>().is_ok_and(|v| v.is_finite())
        }
        Some('\'') => formula_like(&cell[1..]),
        _ => false,
    }
}

/// A CSV cell as written: one that a spreadsheet would run as a formula gets a leading `'`
/// (OWASP's advice), so `=HYPERLINK(…)` opens as text. Reversed exactly by [`restore_cell`].
pub fn neutralise_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    if formula_like(cell) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// A CSV cell as read back: the inverse of [`neutralise_cell`], so an export imported again
/// gives the same text.
pub fn restore_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if formula_like(rest) => rest,
        _ => cell,
    }
}

/// One CSV record of an institute, in `CSV_COLUMNS` order, then the amount converted to
/// `?currency` when `converted`.
pub fn csv_record(i: &Institute, converted: bool) -> Vec<String> {
    let h = i.latest_headcount.as_ref();
    let b = i.latest_budget.as_ref();
    let mut row = vec![
        i.id.clone(),
        i.slug.clone(),
        i.name.clone(),
        opt(&i.acronym),
        join(&i.aliases),
        i.kind.as_str().to_string(),
        i.status.as_str().to_string(),
        i.country.clone(),
        opt(&i.city),
        opt(&i.founded),
        opt(&i.website),
        opt(&i.description),
        join(&i.sectors),
        i.parent.as_ref().map(|p| p.id.clone()).unwrap_or_default(),
        i.parent
            .as_ref()
            .map(|p| p.slug.clone())
            .unwrap_or_default(),
        opt(&i.external_ids.ror),
        opt(&i.external_ids.wikidata),
        opt(&i.external_ids.grid),
        opt(&h.map(|h| h.year)),
        opt(&h.and_then(|h| h.researchers)),
        opt(&h.and_then(|h| h.staff)),
        opt(&b.map(|b| b.year)),
        b.map(|b| b.kind.as_str().to_string()).unwrap_or_default(),
        b.map(|b| b.basis.as_str().to_string()).unwrap_or_default(),
        opt(&b.map(|b| b.amount)),
        b.map(|b| b.currency.clone()).unwrap_or_default(),
        opt(&b.and_then(|b| b.usd.amount_usd)),
        join(&i.unverified_fields),
        timestamp(&i.created_at),
        timestamp(&i.updated_at),
        i.version.to_string(),
    ];
    if converted {
        let c = b.and_then(|b| b.converted.as_ref());
        row.push(opt(&c.and_then(|c| c.amount)));
    }
    row
}

/// An institute's whole series, as the command-line export writes them.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub budgets: Vec<BudgetFigure>,
    pub headcounts: Vec<HeadcountEntry>,
}

impl Series {
    /// The budget entries as JSON (input fields plus `id`), by year then id.
    pub fn budgets_json(&self) -> Value {
        Value::Array(
            self.budgets
                .iter()
                .map(|b| {
                    json!({
                        "id": b.id,
                        "year": b.year,
                        "kind": b.kind,
                        "amount": b.amount,
                        "currency": b.currency,
                        "period_end": b.period_end,
                        "source": b.source,
                        "note": b.note,
                    })
                })
                .collect(),
        )
    }

    /// The headcount entries as JSON (input fields plus `id`), by year.
    pub fn headcounts_json(&self) -> Value {
        Value::Array(
            self.headcounts
                .iter()
                .map(|h| serde_json::to_value(h).unwrap_or(Value::Null))
                .collect(),
        )
    }
}

/// A full record: the institute as the API shows it, plus its series.
pub fn full_record(i: &Institute, series: &Series) -> Value {
    let mut value = serde_json::to_value(i).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("budgets".into(), series.budgets_json());
        map.insert("headcounts".into(), series.headcounts_json());
    }
    value
}

/// A CSV row of the full record: `csv_record` then the series as JSON.
pub fn full_csv_record(i: &Institute, series: &Series) -> Vec<String> {
    let mut row = csv_record(i, false);
    row.push(series.budgets_json().to_string());
    row.push(series.headcounts_json().to_string());
    row
}

/// The column names of a CSV export: `CSV_COLUMNS`, then `extra`.
pub fn csv_header(extra: &[String]) -> Vec<String> {
    CSV_COLUMNS
        .iter()
        .map(|c| c.to_string())
        .chain(extra.iter().cloned())
        .collect()
}

/// A record read from a file and checked: what the import applies.
#[derive(Debug, Clone)]
pub struct ImportRecord {
    /// Where it starts in the file: the line (CSV, NDJSON) or the position in the array (JSON).
    pub line: usize,
    pub id: Option<String>,
    pub created_at: Option<NaiveDateTime>,
    pub updated_at: Option<NaiveDateTime>,
    pub version: Option<i64>,
    pub input: InstituteInput,
    /// The whole budget series, when the record carries one (entries with their ids if given).
    pub budgets: Option<Vec<(Option<String>, BudgetInput)>>,
    /// The whole headcount series, when the record carries one.
    pub headcounts: Option<Vec<(Option<String>, HeadcountInput)>>,
}

/// A record that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub line: usize,
    /// The record's id, slug or name, whichever it gives first.
    pub record: String,
    pub errors: Vec<FieldError>,
}

/// Whether an id has the registry's form: a prefix, `_`, then 1–60 lower-case letters and
/// digits.
pub fn is_id(value: &str, prefix: &str) -> bool {
    value
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|rest| {
            (1..=60).contains(&rest.len())
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn label(obj: &Map<String, Value>) -> String {
    ["id", "slug", "name"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}

fn read_time(
    obj: &mut Map<String, Value>,
    key: &str,
    errors: &mut Vec<FieldError>,
) -> Option<NaiveDateTime> {
    match obj.remove(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match DateTime::parse_from_rfc3339(&s) {
            Ok(t) => Some(t.with_timezone(&Utc).naive_utc()),
            Err(_) => {
                errors.push(FieldError::new(
                    format!("/{key}"),
                    "must be an RFC 3339 timestamp",
                ));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new(
                format!("/{key}"),
                "must be an RFC 3339 timestamp",
            ));
            None
        }
    }
}

fn read_series<T>(
    obj: &mut Map<String, Value>,
    key: &str,
    prefix: &str,
    errors: &mut Vec<FieldError>,
    read: impl Fn(&Value) -> Result<T, Vec<FieldError>>,
) -> Option<Vec<(Option<String>, T)>> {
    let items = match obj.remove(key) {
        None | Some(Value::Null) => return None,
        Some(Value::Array(items)) => items,
        Some(_) => {
            errors.push(FieldError::new(
                format!("/{key}"),
                "must be an array of entries",
            ));
            return None;
        }
    };
    if items.len() > 500 {
        errors.push(FieldError::new(format!("/{key}"), "at most 500 entries"));
        return None;
    }
    let mut out = Vec::with_capacity(items.len());
    for (n, item) in items.into_iter().enumerate() {
        let at = format!("/{key}/{n}");
        let Value::Object(mut entry) = item else {
            errors.push(FieldError::new(at, "must be an object"));
            continue;
        };
        let id = match entry.remove("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if is_id(&id, prefix) => Some(id),
            Some(_) => {
                errors.push(FieldError::new(
                    format!("{at}/id"),
                    format!("must be an id such as {prefix}_0123456789abcdef"),
                ));
                None
            }
        };
        match read(&Value::Object(entry)) {
            Ok(input) => out.push((id, input)),
            Err(es) => errors.extend(
                es.into_iter()
                    .map(|e| FieldError::new(format!("{at}{}", e.field), e.message)),
            ),
        }
    }
    Some(out)
}

impl ImportRecord {
    /// Reads one record (an object in the export's or the API's input form), checking it with
    /// the API's rules.
    pub fn read(line: usize, value: Value, vocab: &Vocabulary) -> Result<ImportRecord, Rejected> {
        let Value::Object(mut obj) = value else {
            return Err(Rejected {
                line,
                record: String::new(),
                errors: vec![FieldError::new("", "a record must be a JSON object")],
            });
        };
        let record = label(&obj);
        let mut errors = Vec::new();
        let id = match obj.remove("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if is_id(&id, "ins") => Some(id),
            Some(_) => {
                errors.push(FieldError::new(
                    "/id",
                    "must be an institute id such as ins_3f0dy3k1zw9q8v2m",
                ));
                None
            }
        };
        let created_at = read_time(&mut obj, "created_at", &mut errors);
        let updated_at = read_time(&mut obj, "updated_at", &mut errors);
        let version = match obj.remove("version") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_i64() {
                Some(n) if n >= 1 => Some(n),
                _ => {
                    errors.push(FieldError::new(
                        "/version",
                        "must be an integer of 1 or more",
                    ));
                    None
                }
            },
        };
        if let (Some(c), Some(u)) = (created_at, updated_at) {
            if u < c {
                errors.push(FieldError::new(
                    "/updated_at",
                    "must not be before created_at",
                ));
            }
        }
        for key in DERIVED_FIELDS {
            obj.remove(*key);
        }
        // The export shows the parent as {id, slug, name}; the input form names it.
        if let Some(Value::Object(parent)) = obj.get("parent") {
            let reference = parent
                .get("id")
                .or_else(|| parent.get("slug"))
                .cloned()
                .unwrap_or(Value::Null);
            obj.insert("parent".into(), reference);
        }
        let budgets = read_series(&mut obj, "budgets", "bud", &mut errors, |v| {
            BudgetInput::read(v, vocab)
        });
        let headcounts = read_series(
            &mut obj,
            "headcounts",
            "hc",
            &mut errors,
            HeadcountInput::read,
        );
        let input = match InstituteInput::read(&Value::Object(obj), vocab) {
            Ok(input) => Some(input),
            Err(es) => {
                errors.extend(es);
                None
            }
        };
        match input {
            Some(input) if errors.is_empty() => Ok(ImportRecord {
                line,
                id,
                created_at,
                updated_at,
                version,
                input,
                budgets,
                headcounts,
            }),
            _ => Err(Rejected {
                line,
                record,
                errors,
            }),
        }
    }
}

/// The CSV column a field of the record comes from (`/external_ids/ror` is `ror`,
/// `/aliases/2` is `aliases`, `/budgets/0/amount` is `budgets`).
pub fn csv_column(pointer: &str) -> String {
    let mut parts = pointer.trim_start_matches('/').split('/');
    match parts.next() {
        Some("external_ids") => parts.next().unwrap_or("external_ids").to_string(),
        Some("parent") => "parent_id".to_string(),
        Some(first) => first.to_string(),
        None => String::new(),
    }
}

/// What a CSV header means: the position of each column the import reads.
#[derive(Debug, Clone)]
pub struct CsvLayout {
    columns: Vec<(usize, String)>,
}

impl CsvLayout {
    /// Checks a header: every column must be an export column, a converted amount
    /// (`budget_amount_xxx`) or a series column, and none may repeat.
    pub fn new(header: &[String]) -> Result<CsvLayout, String> {
        let mut columns = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, name) in header.iter().enumerate() {
            let name = if i == 0 {
                name.trim_start_matches('\u{feff}')
            } else {
                name.as_str()
            };
            if !seen.insert(name.to_string()) {
                return Err(format!("column '{name}' appears twice in the header"));
            }
            let converted = name
                .strip_prefix("budget_amount_")
                .is_some_and(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_lowercase()));
            if DERIVED_COLUMNS.contains(&name) || converted {
                continue;
            }
            if !CSV_COLUMNS.contains(&name) && !SERIES_COLUMNS.contains(&name) {
                return Err(format!(
                    "unknown column '{name}'; the columns are those of the export: {}, {}",
                    CSV_COLUMNS.join(", "),
                    SERIES_COLUMNS.join(", ")
                ));
            }
            columns.push((i, name.to_string()));
        }
        if !columns.iter().any(|(_, n)| n == "name") {
            return Err("the header has no 'name' column".into());
        }
        Ok(CsvLayout { columns })
    }

    /// The row's id, slug or name, whichever it gives first (to name it in a report).
    pub fn label(&self, row: &csv::StringRecord) -> String {
        ["id", "slug", "name"]
            .iter()
            .find_map(|key| {
                self.columns
                    .iter()
                    .find(|(_, n)| n == key)
                    .and_then(|(i, _)| row.get(*i))
                    .map(restore_cell)
                    .filter(|v| !v.is_empty())
            })
            .unwrap_or_default()
            .to_string()
    }

    /// Turns one CSV row into a record object; cells that are not text (numbers, JSON) are
    /// checked here, with the column as the field.
    pub fn record(&self, row: &csv::StringRecord) -> Result<Value, Vec<FieldError>> {
        let mut obj = Map::new();
        let mut ids = Map::new();
        let mut parent: Option<String> = None;
        let mut errors = Vec::new();
        for (i, name) in &self.columns {
            let cell = restore_cell(row.get(*i).unwrap_or(""));
            if cell.is_empty() {
                continue;
            }
            let list = || Value::Array(cell.split('|').map(|s| json!(s)).collect());
            match name.as_str() {
                "aliases" | "sectors" | "unverified_fields" => {
                    obj.insert(name.clone(), list());
                }
                "founded" | "version" => match cell.parse::<i64>() {
                    Ok(n) => {
                        obj.insert(name.clone(), json!(n));
                    }
                    Err(_) => errors.push(FieldError::new(name.clone(), "must be an integer")),
                },
                "ror" | "wikidata" | "grid" => {
                    ids.insert(name.clone(), json!(cell));
                }
                "parent_id" => parent = Some(cell.to_string()),
                "parent_slug" => {
                    parent.get_or_insert_with(|| cell.to_string());
                }
                "budgets" | "headcounts" => match serde_json::from_str::<Value>(cell) {
                    Ok(v) => {
                        obj.insert(name.clone(), v);
                    }
                    Err(e) => errors.push(FieldError::new(
                        name.clone(),
                        format!("must be a JSON array of entries: {e}"),
                    )),
                },
                _ => {
                    obj.insert(name.clone(), json!(cell));
                }
            }
        }
        if let Some(p) = parent {
            obj.insert("parent".into(), json!(p));
        }
        if !ids.is_empty() {
            obj.insert("external_ids".into(), Value::Object(ids));
        }
        if errors.is_empty() {
            Ok(Value::Object(obj))
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_reversibly() {
        for (cell, written) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("@SUM(1+1)", "'@SUM(1+1)"),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'=x", "''=x"),
            ("''=x", "'''=x"),
            ("-12.5", "-12.5"),
            ("+7", "+7"),
            ("-inf", "'-inf"),
            ("'quoted'", "'quoted'"),
            ("Inria", "Inria"),
            ("", ""),
        ] {
            assert_eq!(neutralise_cell(cell), written, "{cell:?}");
            assert_eq!(restore_cell(written), cell, "{written:?}");
        }
    }
}
