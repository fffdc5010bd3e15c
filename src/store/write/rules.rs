//! The registry's rules on writes, each written once over a [`View`]: slugs are unique (and
//! never taken from a deleted institute, nor from another institute's former names), external
//! ids are unique, a parent exists and makes no cycle, and a series holds one figure per year
//! (and kind). The shape of input (types, lengths, vocabularies) is checked before, by the
//! model's readers.

use super::view::{Holder, Resolved, View, SCHEMES};
use super::WriteError;
use crate::model::ids::slugify;
use crate::model::input::{BudgetInput, ExternalIdsInput, HeadcountInput};
use crate::model::FieldError;
use diesel::QueryResult;

fn held_by(holder: &Holder) -> String {
    match holder {
        Holder::Registry { slug, .. } => format!("'{slug}'"),
        Holder::File { line, .. } => format!("line {line}"),
        Holder::Retired => "a deleted institute".to_string(),
    }
}

/// The slug an institute gets: the one given (if nobody else holds it), else its current one,
/// else one derived from its name.
pub fn slug(
    view: &mut impl View,
    id: &str,
    given: Option<&str>,
    current: Option<&str>,
    name: &str,
) -> Result<String, WriteError> {
    match (given, current) {
        (Some(slug), _) => match view.slug_holder(slug)? {
            Some(holder) if holder.id() != Some(id) => Err(WriteError::conflict(
                "/slug",
                match holder {
                    Holder::File { line, .. } => {
                        format!("'{slug}' is also the slug of line {line}")
                    }
                    _ => format!("'{slug}' is already used by another institute"),
                },
            )),
            _ => Ok(slug.to_string()),
        },
        (None, Some(current)) => Ok(current.to_string()),
        (None, None) => Ok(derive_slug(view, name)?),
    }
}

/// A free slug derived from a name: `name-slug`, else `name-slug-2`, `-3`, …
pub fn derive_slug(view: &mut impl View, name: &str) -> QueryResult<String> {
    let mut base = slugify(name);
    if base.is_empty() {
        base = "institute".into();
    }
    base.truncate(90);
    let base = base.trim_end_matches('-').to_string();
    let mut candidate = base.clone();
    let mut n = 2;
    while view.slug_holder(&candidate)?.is_some() {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    Ok(candidate)
}

/// The external ids, as `(scheme, value)` pairs.
pub fn external_pairs(ids: &ExternalIdsInput) -> Vec<(&'static str, String)> {
    SCHEMES
        .into_iter()
        .zip([&ids.ror, &ids.wikidata, &ids.grid])
        .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
        .collect()
}

/// The external ids another institute already holds.
pub fn external_conflicts(
    view: &mut impl View,
    id: &str,
    ids: &ExternalIdsInput,
) -> QueryResult<Vec<FieldError>> {
    let mut out = Vec::new();
    for (scheme, value) in external_pairs(ids) {
        if let Some(holder) = view.external_holder(scheme, &value)? {
            if holder.id() != Some(id) {
                out.push(FieldError::new(
                    format!("/external_ids/{scheme}"),
                    format!("already the {scheme} id of {}", held_by(&holder)),
                ));
            }
        }
    }
    Ok(out)
}

/// Resolves a parent reference of the institute `id` and refuses a cycle.
pub fn parent(view: &mut impl View, id: &str, reference: &str) -> Result<String, WriteError> {
    let parent = match view.resolve(reference)? {
        Some(Resolved::Live(parent)) => parent,
        Some(Resolved::Rejected) => {
            return Err(WriteError::invalid(
                "/parent",
                format!("the parent '{reference}' is itself rejected"),
            ))
        }
        None => {
            return Err(WriteError::invalid(
                "/parent",
                format!(
                    "no institute has the id or slug '{reference}'{}",
                    view.scope()
                ),
            ))
        }
    };
    no_cycle(view, id, &parent)?;
    Ok(parent)
}

/// Refuses `parent` as the parent of `id` when `id` is `parent` or one of its ancestors.
pub fn no_cycle(view: &mut impl View, id: &str, parent: &str) -> Result<(), WriteError> {
    if parent == id {
        return Err(WriteError::invalid(
            "/parent",
            "would make the institute its own parent",
        ));
    }
    let mut cursor = view.parent_of(parent)?;
    // The hierarchy has no cycle (every write checks), so this ends; the bound is a guard.
    for _ in 0..100_000 {
        let Some(ancestor) = cursor else {
            return Ok(());
        };
        if ancestor == id {
            return Err(WriteError::invalid(
                "/parent",
                "would make the institute its own ancestor",
            ));
        }
        cursor = view.parent_of(&ancestor)?;
    }
    Ok(())
}

/// One budget figure per year and kind: an error at `at(n)` for every entry `n` that repeats
/// the year and kind of an earlier one (entries are `(id, figure)`).
pub fn one_budget_per_year_and_kind(
    series: &[(&str, &BudgetInput)],
    at: impl Fn(usize) -> String,
) -> Vec<FieldError> {
    let mut out = Vec::new();
    for (n, (_, b)) in series.iter().enumerate() {
        if let Some((other, _)) = series[..n]
            .iter()
            .find(|(_, o)| o.year == b.year && o.kind == b.kind)
        {
            out.push(FieldError::new(
                at(n),
                format!(
                    "the {} budget for {} is already entry {other}; change that entry instead",
                    b.kind.as_str(),
                    b.year
                ),
            ));
        }
    }
    out
}

/// One headcount per year: an error at `at(n)` for every entry `n` that repeats the year of
/// an earlier one.
pub fn one_headcount_per_year(
    series: &[(&str, &HeadcountInput)],
    at: impl Fn(usize) -> String,
) -> Vec<FieldError> {
    let mut out = Vec::new();
    for (n, (_, h)) in series.iter().enumerate() {
        if let Some((other, _)) = series[..n].iter().find(|(_, o)| o.year == h.year) {
            out.push(FieldError::new(
                at(n),
                format!(
                    "the headcount for {} is already entry {other}; change that entry instead",
                    h.year
                ),
            ));
        }
    }
    out
}
