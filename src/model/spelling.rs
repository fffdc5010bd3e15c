//! "Did you mean …?": the known value closest to one that is not.

/// The candidate closest to `given` (compared without case): one that starts with it (the
/// shortest such), else the nearest within two edits (and fewer edits than half its length).
/// `None` when nothing is close enough to be worth suggesting.
pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let given = given.trim().to_lowercase();
    if given.is_empty() {
        return None;
    }
    let mut by_prefix: Option<&str> = None;
    let mut by_edits: Option<(usize, &str)> = None;
    for candidate in candidates {
        let lower = candidate.to_lowercase();
        if lower == given {
            return Some(candidate);
        }
        if given.len() >= 3
            && lower.starts_with(&given)
            && by_prefix.is_none_or(|p| candidate.len() < p.len())
        {
            by_prefix = Some(candidate);
        }
        let edits = strsim::damerau_levenshtein(&given, &lower);
        if edits <= 2
            && edits * 2 < given.chars().count().max(2)
            && by_edits.is_none_or(|(e, _)| edits < e)
        {
            by_edits = Some((edits, candidate));
        }
    }
    by_prefix.or(by_edits.map(|(_, c)| c))
}

/// `; did you mean 'x'?` for a suggestion, or nothing.
pub fn hint(suggestion: Option<&str>) -> String {
    suggestion
        .map(|s| format!("; did you mean '{s}'?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_what_is_close_and_nothing_else() {
        let sectors = ["healthcare", "education", "energy", "defense-security"];
        assert_eq!(closest("health", sectors), Some("healthcare"));
        assert_eq!(closest("Energie", sectors), Some("energy"));
        assert_eq!(closest("edcuation", sectors), Some("education"));
        assert_eq!(closest("finance", sectors), None);
        assert_eq!(closest("x", sectors), None);
        let sorts = ["name", "budget", "headcount", "founded"];
        assert_eq!(closest("budgett", sorts), Some("budget"));
        assert_eq!(closest("nmae", sorts), Some("name"));
        assert_eq!(closest("zzz", sorts), None);
        assert_eq!(hint(Some("budget")), "; did you mean 'budget'?");
        assert_eq!(hint(None), "");
    }
}
