//! Identifiers, slugs and the folded forms of names used for sorting and search.

use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

const BASE32: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

fn encode(bytes: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut acc: u64 = 0;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 && out.len() < len {
            bits -= 5;
            out.push(BASE32[((acc >> bits) & 31) as usize] as char);
        }
    }
    out
}

/// A new random opaque id with a type prefix (`ins_`, `bud_`, `hc_`, `prg_`).
pub fn new_id(prefix: &str) -> String {
    let bytes: [u8; 10] = rand::random();
    format!("{prefix}_{}", encode(&bytes, 16))
}

/// The id a seeded record gets: derived from its natural key, so every installation gives
/// the same seed record the same id.
pub fn seed_id(prefix: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("institute-registry seed {prefix} {key}").as_bytes());
    format!("{prefix}_{}", encode(&digest, 16))
}

/// Lower-case, accents removed, punctuation reduced to single spaces: the form in which
/// names are compared and sorted ("Université de Montréal" -> "universite de montreal").
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        let mapped: &str = match c {
            'ß' => "ss",
            'æ' | 'Æ' => "ae",
            'ø' | 'Ø' => "o",
            'œ' | 'Œ' => "oe",
            'ł' | 'Ł' => "l",
            'đ' | 'Đ' => "d",
            _ => "",
        };
        if !mapped.is_empty() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push_str(mapped);
        } else if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

/// A slug from a name: folded, ASCII letters and digits joined by single hyphens, at most
/// 100 characters. Empty when the name has no ASCII letter or digit.
pub fn slugify(name: &str) -> String {
    // Other scripts in Latin letters first (中国科学院 → "zhong guo ke xue yuan", Институт →
    // "institut"): a slug is readable, and not just "institute".
    let latin;
    let name = if name.is_ascii() {
        name
    } else {
        latin = deunicode::deunicode_with_tofu(name, " ");
        &latin
    };
    let folded = fold(name);
    let mut slug = String::new();
    for word in folded.split(' ') {
        let word: String = word.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        if word.is_empty() {
            continue;
        }
        if slug.len() + word.len() + 1 > 100 {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word);
    }
    slug
}

/// Slugs no institute may have: they name endpoints under `/v1/institutes/`.
pub const RESERVED_SLUGS: &[&str] = &["match", "suggest"];

/// Whether `s` is a valid slug: `[a-z0-9-]{1,100}`.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_case_and_punctuation() {
        assert_eq!(fold("Université de Montréal"), "universite de montreal");
        assert_eq!(fold("Mila – Quebec  AI"), "mila quebec ai");
        assert_eq!(
            fold("Künstliche Intelligenz GmbH"),
            "kunstliche intelligenz gmbh"
        );
        assert_eq!(fold("Straße"), "strasse");
    }

    #[test]
    fn slugs_are_ascii_and_bounded() {
        assert_eq!(
            slugify("The Alan Turing Institute"),
            "the-alan-turing-institute"
        );
        assert_eq!(slugify("3IA Côte d'Azur"), "3ia-cote-d-azur");
        assert_eq!(
            slugify("中国科学院自动化研究所"),
            "zhong-guo-ke-xue-yuan-zi-dong-hua-yan-jiu-suo"
        );
        assert_eq!(
            slugify("Институт системного программирования"),
            "institut-sistemnogo-programmirovaniia"
        );
        assert_eq!(slugify("KAIST 인공지능"), "kaist-ingongjineung");
        assert!(is_slug(&slugify(&"word ".repeat(80))));
        assert!(slugify(&"word ".repeat(80)).len() <= 100);
        assert!(!is_slug("Has Caps"));
        assert!(!is_slug(""));
    }

    #[test]
    fn ids_are_prefixed_and_distinct() {
        let a = new_id("ins");
        assert!(a.starts_with("ins_") && a.len() == 20);
        assert_ne!(a, new_id("ins"));
        assert_eq!(seed_id("ins", "x"), seed_id("ins", "x"));
        assert_ne!(seed_id("ins", "x"), seed_id("ins", "y"));
    }
}
