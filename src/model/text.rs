//! Text comparison for search and matching: the words of a query, and edit distances. Pure
//! functions; the read model and the matcher decide how to look them up.

/// The words of a folded text.
pub fn words(folded: &str) -> Vec<&str> {
    folded.split(' ').filter(|w| !w.is_empty()).collect()
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions), by
/// characters; stops early and returns `limit + 1` once the distance must exceed `limit`.
pub fn edit_distance(a: &str, b: &str, limit: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let width = b.len() + 1;
    let mut prev2 = vec![0usize; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut cur = vec![0usize; width];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > limit {
            return limit + 1;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()].min(limit + 1)
}

/// How many typos a word of this length may hold and still be recognized: none below four
/// characters, one up to seven, two from eight.
pub fn typo_budget(word: &str) -> usize {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_typos() {
        assert_eq!(edit_distance("turing", "turing", 2), 0);
        assert_eq!(edit_distance("turring", "turing", 2), 1);
        assert_eq!(edit_distance("tuirng", "turing", 2), 1);
        assert_eq!(edit_distance("institue", "institute", 2), 1);
        assert_eq!(edit_distance("montreal", "toronto", 2), 3);
        assert_eq!(edit_distance("abc", "abcdef", 1), 2);
        assert_eq!(typo_budget("ai"), 0);
        assert_eq!(typo_budget("vektor"), 1);
        assert_eq!(typo_budget("institue"), 2);
    }
}
