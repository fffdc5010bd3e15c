//! Matching a free-text affiliation, as papers write it, to institutes: the scoring of one
//! candidate against the affiliation. Candidates come from the store's search index.
//!
//! The affiliation is cut into segments (at commas, semicolons, brackets, slashes and spaced
//! dashes) and folded like every indexed name, with common abbreviations expanded. Each name
//! of a candidate (official name, its head before "for"/"of", aliases, acronym) is compared
//! with each segment: the same words (exact, alias or acronym), contained in the segment
//! (partial), or most of the words within a typo (fuzzy). A country or city named in the
//! affiliation raises the score of candidates there and lowers those elsewhere.

use super::ids::fold;
use super::text::{edit_distance, typo_budget};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

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

/// Words that carry no identity.
const STOPWORDS: &[&str] = &[
    "the", "of", "for", "and", "in", "on", "at", "de", "des", "du", "la", "le", "les", "di", "del",
    "della", "der", "die", "das", "fur", "und", "y", "e", "et", "a", "an", "to",
];
/// Words many institute names share: they count, but little.
const GENERIC: &[&str] = &[
    "institute",
    "institut",
    "instituto",
    "istituto",
    "center",
    "centre",
    "centro",
    "zentrum",
    "research",
    "artificial",
    "intelligence",
    "ai",
    "national",
    "laboratory",
    "lab",
    "labs",
    "university",
    "universite",
    "universitat",
    "universidad",
    "science",
    "sciences",
    "data",
    "technology",
    "technologies",
    "computer",
    "computing",
    "machine",
    "learning",
    "innovation",
    "advanced",
    "international",
    "foundation",
    "agency",
    "council",
    "programme",
    "program",
    "network",
    "school",
    "department",
    "faculty",
    "academy",
    "society",
    "association",
    "mission",
    "office",
    "initiative",
];
/// Abbreviations as affiliations write them, and the word they stand for.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("inst", "institute"),
    ("univ", "university"),
    ("natl", "national"),
    ("nat", "national"),
    ("ctr", "center"),
    ("cent", "center"),
    ("centre", "center"),
    ("lab", "laboratory"),
    ("labs", "laboratory"),
    ("laboratories", "laboratory"),
    ("res", "research"),
    ("sci", "science"),
    ("tech", "technology"),
    ("technol", "technology"),
    ("dept", "department"),
    ("intl", "international"),
];
/// Country names that affiliations use beside the ISO names.
const COUNTRY_ALIASES: &[(&str, &str)] = &[
    ("uk", "GB"),
    ("u k", "GB"),
    ("great britain", "GB"),
    ("england", "GB"),
    ("scotland", "GB"),
    ("wales", "GB"),
    ("northern ireland", "GB"),
    ("usa", "US"),
    ("u s a", "US"),
    ("u s", "US"),
    ("united states of america", "US"),
    ("america", "US"),
    ("korea", "KR"),
    ("republic of korea", "KR"),
    ("south korea", "KR"),
    ("p r china", "CN"),
    ("pr china", "CN"),
    ("people s republic of china", "CN"),
    ("deutschland", "DE"),
    ("the netherlands", "NL"),
    ("holland", "NL"),
    ("czechia", "CZ"),
    ("czech republic", "CZ"),
    ("schweiz", "CH"),
    ("suisse", "CH"),
    ("espana", "ES"),
    ("italia", "IT"),
    ("nippon", "JP"),
    ("uae", "AE"),
    ("u a e", "AE"),
    ("ksa", "SA"),
];

fn canonical(word: &str) -> String {
    ABBREVIATIONS
        .iter()
        .find(|(a, _)| *a == word)
        .map(|(_, w)| (*w).to_string())
        .unwrap_or_else(|| word.to_string())
}

fn canonical_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for w in fold(text).split(' ').filter(|w| !w.is_empty()) {
        if w == "ai" {
            // "AI" and "Artificial Intelligence" name the same thing.
            out.push("artificial".to_string());
            out.push("intelligence".to_string());
        } else {
            out.push(canonical(w));
        }
    }
    out
}

/// Whether a word identifies (neither a stop word nor one many names share).
pub fn is_distinctive(word: &str) -> bool {
    weight(word) == 1.0
}

fn weight(word: &str) -> f64 {
    if STOPWORDS.contains(&word) {
        0.0
    } else if GENERIC.contains(&word) {
        0.35
    } else {
        1.0
    }
}

/// The folded names of every country, to recognize a country named in an affiliation.
#[derive(Debug, Default, Clone)]
pub struct CountryNames {
    by_name: HashMap<String, String>,
}

impl CountryNames {
    /// From `(code, name)` pairs, plus the usual informal names.
    pub fn new(rows: impl IntoIterator<Item = (String, String)>) -> CountryNames {
        let mut by_name: HashMap<String, String> = rows
            .into_iter()
            .map(|(code, name)| (canonical_words(&name).join(" "), code))
            .collect();
        for (name, code) in COUNTRY_ALIASES {
            by_name.insert((*name).to_string(), (*code).to_string());
        }
        CountryNames { by_name }
    }

    pub fn name_of(&self, code: &str) -> Option<&str> {
        self.by_name
            .iter()
            .find(|(_, c)| c.as_str() == code)
            .map(|(n, _)| n.as_str())
    }
}

/// An affiliation, cut and folded.
#[derive(Debug, Clone)]
pub struct Affiliation {
    /// The canonical words of each segment.
    pub segments: Vec<Vec<String>>,
    /// Words written in capitals in the original (acronym-like), folded.
    capitals: HashSet<String>,
    /// Countries the affiliation names.
    pub countries: HashSet<String>,
}

impl Affiliation {
    pub fn parse(text: &str, countries: &CountryNames) -> Affiliation {
        let mut cut = String::with_capacity(text.len());
        let chars: Vec<char> = text.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let spaced_dash = matches!(c, '-' | '–' | '—')
                && i > 0
                && chars[i - 1] == ' '
                && chars.get(i + 1) == Some(&' ');
            if matches!(c, ',' | ';' | '(' | ')' | '[' | ']' | '|' | '/' | '\n') || spaced_dash {
                cut.push('\u{1}');
            } else {
                cut.push(c);
            }
        }
        let segments: Vec<Vec<String>> = cut
            .split('\u{1}')
            .map(canonical_words)
            .filter(|w| !w.is_empty())
            .collect();
        let capitals = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 2 && w.chars().any(char::is_uppercase))
            .filter(|w| !w.chars().any(char::is_lowercase))
            .map(fold)
            .collect();
        let mut found = HashSet::new();
        for seg in &segments {
            for take in 1..=seg.len().min(5) {
                let tail = seg[seg.len() - take..].join(" ");
                if let Some(code) = countries.by_name.get(&tail) {
                    found.insert(code.clone());
                }
            }
        }
        Affiliation {
            segments,
            capitals,
            countries: found,
        }
    }

    /// Every word of the affiliation that the search index should be asked about: the words
    /// of each segment, stop words left out.
    pub fn search_words(&self) -> Vec<Vec<String>> {
        self.segments
            .iter()
            .map(|s| {
                s.iter()
                    .filter(|w| !STOPWORDS.contains(&w.as_str()))
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .filter(|s| !s.is_empty())
            .collect()
    }

    fn contains_words(&self, words: &[String]) -> bool {
        !words.is_empty()
            && self
                .segments
                .iter()
                .any(|s| s.windows(words.len()).any(|w| w == words))
    }
}

/// What is known of a candidate institute.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub name: &'a str,
    pub acronym: Option<&'a str>,
    pub aliases: &'a [String],
    pub country: &'a str,
    pub city: Option<&'a str>,
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
}

fn strip_article(words: &[String]) -> &[String] {
    match words.first().map(String::as_str) {
        Some("the") => &words[1..],
        _ => words,
    }
}

/// The share of `name`'s weight found in `segment` (words within their typo budget count
/// 0.85), and the share of the segment's weight the name explains.
fn overlap(name: &[String], segment: &[String]) -> (f64, f64, bool) {
    let mut used = vec![false; segment.len()];
    let mut matched = 0.0;
    let mut distinctive = false;
    for w in name {
        let wt = weight(w);
        if wt == 0.0 {
            continue;
        }
        let mut best: Option<(usize, f64)> = None;
        for (j, s) in segment.iter().enumerate() {
            if used[j] {
                continue;
            }
            let credit = if s == w {
                1.0
            } else {
                let budget = typo_budget(w).min(typo_budget(s));
                if budget > 0 && edit_distance(w, s, budget) <= budget {
                    0.85
                } else {
                    continue;
                }
            };
            if best.is_none_or(|(_, c)| credit > c) {
                best = Some((j, credit));
            }
        }
        if let Some((j, credit)) = best {
            used[j] = true;
            matched += wt * credit;
            distinctive |= wt == 1.0;
        }
    }
    let name_weight: f64 = name.iter().map(|w| weight(w)).sum();
    let segment_weight: f64 = segment
        .iter()
        .enumerate()
        .map(|(j, s)| {
            if used[j] {
                // A misspelled word weighs what the word it stands for weighs.
                name.iter()
                    .find(|w| *w == s || edit_distance(w, s, 2) <= 2)
                    .map(|w| weight(w))
                    .unwrap_or(weight(s))
            } else {
                weight(s)
            }
        })
        .sum();
    if name_weight == 0.0 || segment_weight == 0.0 {
        return (0.0, 0.0, false);
    }
    (
        (matched / name_weight).min(1.0),
        (matched / segment_weight).min(1.0),
        distinctive,
    )
}

/// Whether `segment` holds `name` among other words, as that name: not followed by "for …"
/// or "of …", which would make it a different, longer name ("Allen Institute for Brain
/// Science" is not "Allen Institute").
fn contains_as_name(segment: &[String], name: &[String]) -> bool {
    segment.len() > name.len()
        && segment.windows(name.len()).enumerate().any(|(i, w)| {
            w == name
                && !matches!(
                    segment.get(i + name.len()).map(String::as_str),
                    Some("for" | "of" | "de" | "fur")
                )
        })
}

/// Scores one candidate; None when nothing of it is in the affiliation.
pub fn score(aff: &Affiliation, c: &Candidate) -> Option<Scored> {
    // (words, type when the whole segment is these words, base score, text)
    let mut variants: Vec<(Vec<String>, MatchType, f64, String)> = Vec::new();
    let name_words = canonical_words(c.name);
    variants.push((
        name_words.clone(),
        MatchType::Exact,
        1.0,
        c.name.to_string(),
    ));
    // The head of a long name: "Vector Institute" of "Vector Institute for Artificial
    // Intelligence".
    if let Some(cut) = name_words
        .iter()
        .position(|w| w == "for" || w == "of")
        .filter(|&p| p >= 2)
    {
        let head = name_words[..cut].to_vec();
        if head.iter().any(|w| weight(w) == 1.0) {
            let text = head.join(" ");
            variants.push((head, MatchType::Partial, 0.92, text));
        }
    }
    for alias in c.aliases {
        variants.push((
            canonical_words(alias),
            MatchType::Alias,
            0.97,
            alias.clone(),
        ));
    }
    let acronym = c.acronym.map(canonical_words).filter(|a| !a.is_empty());

    let mut best: Option<(f64, MatchType, String)> = None;
    let mut consider = |score: f64, kind: MatchType, text: &str, segment: usize| {
        // Earlier segments name the primary affiliation.
        let score = score - 0.01 * segment.min(5) as f64;
        if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, kind, text.to_string()));
        }
    };
    // Each segment, and each two neighbouring segments together (names may hold commas:
    // "Czech Institute of Informatics, Robotics and Cybernetics").
    let joined: Vec<(usize, Vec<String>)> = aff
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| (i, s.clone()))
        .chain(
            aff.segments
                .windows(2)
                .enumerate()
                .map(|(i, w)| (i, [w[0].clone(), w[1].clone()].concat())),
        )
        .collect();
    for (i, seg) in &joined {
        let i = *i;
        let seg_core = strip_article(seg);
        for (words, kind, base, text) in &variants {
            let core = strip_article(words);
            if core.is_empty() {
                continue;
            }
            // A name made only of common words ("Center for Artificial Intelligence")
            // identifies nothing unless it is the whole segment.
            let identifying = core.iter().any(|w| is_distinctive(w));
            if core == seg_core {
                consider(*base, *kind, text, i);
            } else if !identifying {
                continue;
            } else if contains_as_name(seg_core, core) {
                let coverage = core.len() as f64 / seg_core.len() as f64;
                consider(0.8 + 0.12 * coverage, MatchType::Partial, text, i);
            } else {
                let (of_name, of_segment, distinctive) = overlap(core, seg_core);
                // A name's head must explain its whole segment: "Allen Institute" is not
                // "Allen Institute for Brain Science".
                let enough = if *kind == MatchType::Partial {
                    0.9
                } else {
                    0.5
                };
                if distinctive && of_name >= 0.6 && of_segment >= enough {
                    let s = 0.85 * (0.6 * of_name + 0.4 * of_segment);
                    consider(s, MatchType::Fuzzy, text, i);
                }
            }
        }
        if let Some(a) = &acronym {
            let text = c.acronym.unwrap_or_default();
            let long_enough = a.iter().map(|w| w.chars().count()).sum::<usize>() >= 3;
            if seg_core == a.as_slice() && long_enough {
                consider(0.95, MatchType::Acronym, text, i);
            } else if long_enough
                && seg.windows(a.len()).any(|w| w == a.as_slice())
                && (a.len() > 1 || aff.capitals.contains(&a[0]))
            {
                consider(0.85, MatchType::Acronym, text, i);
            }
        }
    }
    let (mut score, match_type, matched) = best?;
    let city_named = c
        .city
        .map(canonical_words)
        .is_some_and(|city| aff.contains_words(&city));
    let country_named = aff.countries.contains(c.country);
    let country_hint = city_named || country_named;
    if country_hint {
        score += 0.05;
    } else if !aff.countries.is_empty() {
        // The affiliation names another country: a short acronym there is most likely
        // another organisation's.
        score -= if match_type == MatchType::Acronym {
            0.25
        } else {
            0.1
        };
    }
    Some(Scored {
        score: score.clamp(0.0, 1.0),
        match_type,
        matched,
        country_hint,
    })
}

/// Whether the best of scores (sorted best first) is an unambiguous choice.
pub fn is_unambiguous(scores: &[f64]) -> bool {
    match scores {
        [] => false,
        [best] => *best >= CHOSEN_MIN,
        [best, second, ..] => *best >= CHOSEN_MIN && best - second >= CHOSEN_MARGIN,
    }
}

/// The least score a chosen candidate has.
pub const CHOSEN_MIN: f64 = 0.75;
/// How far the chosen candidate must lead the next one.
pub const CHOSEN_MARGIN: f64 = 0.05;

#[cfg(test)]
mod tests {
    use super::*;

    fn countries() -> CountryNames {
        CountryNames::new([
            ("GB".to_string(), "United Kingdom".to_string()),
            ("CA".to_string(), "Canada".to_string()),
            ("JP".to_string(), "Japan".to_string()),
        ])
    }

    #[test]
    fn scores_names_acronyms_and_typos() {
        let aliases: Vec<String> = vec![];
        let turing = Candidate {
            name: "The Alan Turing Institute",
            acronym: Some("ATI"),
            aliases: &aliases,
            country: "GB",
            city: Some("London"),
        };
        let c = countries();
        let exact = score(
            &Affiliation::parse("The Alan Turing Institute, London, UK", &c),
            &turing,
        )
        .unwrap();
        assert_eq!(exact.match_type, MatchType::Exact);
        assert!(exact.country_hint && exact.score > 0.99);
        let typo = score(
            &Affiliation::parse("Alan Turring Inst., London", &c),
            &turing,
        )
        .unwrap();
        assert_eq!(typo.match_type, MatchType::Fuzzy);
        assert!(typo.score > CHOSEN_MIN, "{typo:?}");
        let acronym = score(&Affiliation::parse("ATI, London", &c), &turing).unwrap();
        assert_eq!(acronym.match_type, MatchType::Acronym);
        assert!(score(&Affiliation::parse("University of Oxford, UK", &c), &turing).is_none());
        let elsewhere = score(
            &Affiliation::parse("Alan Turing Institute, Tokyo, Japan", &c),
            &turing,
        )
        .unwrap();
        assert!(elsewhere.score < exact.score - 0.05);
    }

    #[test]
    fn a_choice_needs_a_clear_lead() {
        assert!(is_unambiguous(&[0.9]));
        assert!(is_unambiguous(&[0.95, 0.8]));
        assert!(!is_unambiguous(&[0.92, 0.9]));
        assert!(!is_unambiguous(&[0.5]));
        assert!(!is_unambiguous(&[]));
    }
}
