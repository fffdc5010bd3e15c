//! The words of names and affiliations: how text is cut into segments and tokens, and the
//! fixed vocabularies that say which words carry no identity (stop words), which many names
//! share (generic words), and which name places (countries, their adjectives, regions).
//! Cities come from the registry itself (see the index).

use crate::model::ids::fold;

/// Words that carry no identity at all.
pub const STOPWORDS: &[&str] = &[
    "the", "of", "for", "and", "in", "on", "at", "de", "des", "du", "la", "le", "les", "di", "del",
    "della", "dello", "der", "die", "das", "fur", "und", "y", "e", "et", "a", "an", "to", "da",
    "do", "dos", "van", "von", "voor", "en", "og", "och", "i", "s", "d", "l", "by", "with", "zu",
    "im", "am", "al", "el", "per", "sur", "au", "aux", "z", "o", "v", "w",
];

/// Words after which a name goes on ("Allen Institute" + "for Brain Science" is another name).
pub const CONTINUATIONS: &[&str] = &["for", "of", "de", "fur", "on", "du", "des", "di", "della"];

/// Words that many organisations' names share: they count towards a name being complete,
/// but never identify one.
pub const GENERIC: &[&str] = &[
    "institute",
    "center",
    "research",
    "artificial",
    "intelligence",
    "national",
    "laboratory",
    "university",
    "science",
    "technology",
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
    "project",
    "unit",
    "group",
    "division",
    "graduate",
    "studies",
    "study",
    "engineering",
    "applied",
    "information",
    "data",
    "systems",
    "system",
    "intelligent",
    "digital",
    "global",
    "human",
    "development",
    "hub",
    "cluster",
    "authority",
    "ministry",
    "state",
    "federal",
    "royal",
    "key",
    "joint",
    "team",
    "college",
    "hospital",
    "medical",
    "medicine",
    "health",
    "safety",
    "security",
    "analytics",
    "analysis",
    "public",
    "general",
    "higher",
    "polytechnic",
    "technical",
    "open",
    "trust",
    "mathematics",
    "physics",
    "chemistry",
    "biology",
    "sector",
    "industrial",
    "industry",
    "company",
    "corporation",
    "inc",
    "ltd",
    "gmbh",
    "co",
    "fundacion",
    "fondazione",
    "stiftung",
    "consortium",
    "alliance",
    "centers",
    "institutes",
    "laboratories",
    "sciences",
    "new",
    "first",
    "central",
    "main",
    "graduate",
    "post",
    "box",
    "street",
    "road",
    "avenue",
    "campus",
    "building",
    "floor",
];

/// Abbreviations and other spellings as affiliations write them, and the word they stand for.
pub const SPELLINGS: &[(&str, &str)] = &[
    ("inst", "institute"),
    ("institut", "institute"),
    ("instituto", "institute"),
    ("istituto", "institute"),
    ("institutes", "institute"),
    ("univ", "university"),
    ("universite", "university"),
    ("universitat", "university"),
    ("universidad", "university"),
    ("universidade", "university"),
    ("universita", "university"),
    ("universiteit", "university"),
    ("natl", "national"),
    ("nat", "national"),
    ("ctr", "center"),
    ("cent", "center"),
    ("centre", "center"),
    ("centres", "center"),
    ("centers", "center"),
    ("centro", "center"),
    ("zentrum", "center"),
    ("lab", "laboratory"),
    ("labs", "laboratory"),
    ("laboratories", "laboratory"),
    ("laboratoire", "laboratory"),
    ("laboratorio", "laboratory"),
    ("res", "research"),
    ("sci", "science"),
    ("sciences", "science"),
    ("tech", "technology"),
    ("technol", "technology"),
    ("technologies", "technology"),
    ("dept", "department"),
    ("intl", "international"),
    ("acad", "academy"),
    ("programme", "program"),
    ("programs", "program"),
    ("programmes", "program"),
];

/// Country names that affiliations use beside the ISO names (single letters are joined:
/// "U.K." is read as "uk").
pub const COUNTRY_ALIASES: &[(&str, &str)] = &[
    ("uk", "GB"),
    ("great britain", "GB"),
    ("britain", "GB"),
    ("england", "GB"),
    ("scotland", "GB"),
    ("wales", "GB"),
    ("northern ireland", "GB"),
    ("usa", "US"),
    ("us", "US"),
    ("united states", "US"),
    ("united states of america", "US"),
    ("america", "US"),
    ("korea", "KR"),
    ("republic of korea", "KR"),
    ("south korea", "KR"),
    ("rok", "KR"),
    ("china", "CN"),
    ("pr china", "CN"),
    ("prc", "CN"),
    ("people s republic of china", "CN"),
    ("peoples republic of china", "CN"),
    ("deutschland", "DE"),
    ("germany", "DE"),
    ("frg", "DE"),
    ("netherlands", "NL"),
    ("the netherlands", "NL"),
    ("holland", "NL"),
    ("nederland", "NL"),
    ("czechia", "CZ"),
    ("czech republic", "CZ"),
    ("cesko", "CZ"),
    ("schweiz", "CH"),
    ("suisse", "CH"),
    ("svizzera", "CH"),
    ("espana", "ES"),
    ("italia", "IT"),
    ("nippon", "JP"),
    ("uae", "AE"),
    ("ksa", "SA"),
    ("russia", "RU"),
    ("iran", "IR"),
    ("taiwan", "TW"),
    ("vietnam", "VN"),
    ("polska", "PL"),
    ("turkey", "TR"),
    ("turkiye", "TR"),
    ("brasil", "BR"),
    ("osterreich", "AT"),
    ("belgique", "BE"),
    ("belgie", "BE"),
    ("sverige", "SE"),
    ("norge", "NO"),
    ("danmark", "DK"),
    ("suomi", "FI"),
    ("hong kong", "HK"),
    ("macau", "MO"),
    ("macao", "MO"),
];

/// The adjectives of countries, as names use them ("Canadian Institute …"): places too.
pub const DEMONYMS: &[(&str, &str)] = &[
    ("american", "US"),
    ("british", "GB"),
    ("canadian", "CA"),
    ("chinese", "CN"),
    ("german", "DE"),
    ("deutsches", "DE"),
    ("deutsche", "DE"),
    ("french", "FR"),
    ("japanese", "JP"),
    ("korean", "KR"),
    ("swiss", "CH"),
    ("finnish", "FI"),
    ("norwegian", "NO"),
    ("swedish", "SE"),
    ("danish", "DK"),
    ("dutch", "NL"),
    ("italian", "IT"),
    ("spanish", "ES"),
    ("polish", "PL"),
    ("czech", "CZ"),
    ("austrian", "AT"),
    ("australian", "AU"),
    ("indian", "IN"),
    ("israeli", "IL"),
    ("saudi", "SA"),
    ("emirati", "AE"),
    ("irish", "IE"),
    ("belgian", "BE"),
    ("flemish", "BE"),
    ("brazilian", "BR"),
    ("russian", "RU"),
    ("european", "EU"),
    ("singaporean", "SG"),
    ("taiwanese", "TW"),
    ("hungarian", "HU"),
    ("portuguese", "PT"),
    ("greek", "GR"),
    ("turkish", "TR"),
    ("mexican", "MX"),
    ("hessian", "DE"),
    ("bavarian", "DE"),
    ("quebecois", "CA"),
];

/// Regions, provinces and states that affiliations name beside (or instead of) a city.
pub const REGIONS: &[(&str, &str)] = &[
    ("ontario", "CA"),
    ("on", "CA"),
    ("quebec", "CA"),
    ("qc", "CA"),
    ("alberta", "CA"),
    ("ab", "CA"),
    ("british columbia", "CA"),
    ("bc", "CA"),
    ("manitoba", "CA"),
    ("nova scotia", "CA"),
    ("saskatchewan", "CA"),
    ("california", "US"),
    ("ca", "US"),
    ("washington", "US"),
    ("wa", "US"),
    ("massachusetts", "US"),
    ("ma", "US"),
    ("new york", "US"),
    ("ny", "US"),
    ("texas", "US"),
    ("tx", "US"),
    ("illinois", "US"),
    ("maryland", "US"),
    ("md", "US"),
    ("pennsylvania", "US"),
    ("virginia", "US"),
    ("georgia", "US"),
    ("florida", "US"),
    ("michigan", "US"),
    ("ohio", "US"),
    ("colorado", "US"),
    ("new jersey", "US"),
    ("north carolina", "US"),
    ("bavaria", "DE"),
    ("bayern", "DE"),
    ("baden wurttemberg", "DE"),
    ("saxony", "DE"),
    ("sachsen", "DE"),
    ("hesse", "DE"),
    ("hessen", "DE"),
    ("north rhine westphalia", "DE"),
    ("nordrhein westfalen", "DE"),
    ("lower saxony", "DE"),
    ("brandenburg", "DE"),
    ("ile de france", "FR"),
    ("bretagne", "FR"),
    ("brittany", "FR"),
    ("provence", "FR"),
    ("occitanie", "FR"),
    ("cote d azur", "FR"),
    ("catalonia", "ES"),
    ("catalunya", "ES"),
    ("andalusia", "ES"),
    ("valencia", "ES"),
    ("flanders", "BE"),
    ("vlaanderen", "BE"),
    ("wallonia", "BE"),
    ("lombardy", "IT"),
    ("tuscany", "IT"),
    ("piedmont", "IT"),
    ("new south wales", "AU"),
    ("nsw", "AU"),
    ("victoria", "AU"),
    ("queensland", "AU"),
    ("south australia", "AU"),
    ("act", "AU"),
    ("guangdong", "CN"),
    ("jiangsu", "CN"),
    ("zhejiang", "CN"),
    ("shandong", "CN"),
    ("sichuan", "CN"),
    ("hubei", "CN"),
    ("hunan", "CN"),
    ("fujian", "CN"),
    ("anhui", "CN"),
    ("henan", "CN"),
    ("hebei", "CN"),
    ("heilongjiang", "CN"),
    ("liaoning", "CN"),
    ("jilin", "CN"),
    ("shaanxi", "CN"),
    ("shanxi", "CN"),
    ("yunnan", "CN"),
    ("guangxi", "CN"),
    ("gyeonggi", "KR"),
    ("gyeonggi do", "KR"),
    ("kanagawa", "JP"),
    ("saitama", "JP"),
    ("ibaraki", "JP"),
    ("osaka", "JP"),
    ("kyoto", "JP"),
    ("hokkaido", "JP"),
    ("tamil nadu", "IN"),
    ("maharashtra", "IN"),
    ("karnataka", "IN"),
    ("punjab", "IN"),
    ("west bengal", "IN"),
    ("beijing", "CN"),
    ("shanghai", "CN"),
    ("tokyo", "JP"),
    ("seoul", "KR"),
    ("london", "GB"),
    ("paris", "FR"),
    ("berlin", "DE"),
    ("munich", "DE"),
    ("munchen", "DE"),
    ("moscow", "RU"),
    ("toronto", "CA"),
    ("montreal", "CA"),
    ("vancouver", "CA"),
    ("seattle", "US"),
    ("boston", "US"),
    ("cambridge", "GB"),
    ("oxford", "GB"),
    ("wuhan", "CN"),
    ("nanjing", "CN"),
    ("hangzhou", "CN"),
    ("guangzhou", "CN"),
    ("shenzhen", "CN"),
    ("tianjin", "CN"),
    ("chengdu", "CN"),
    ("xi an", "CN"),
    ("harbin", "CN"),
    ("hefei", "CN"),
    ("singapore", "SG"),
    ("amsterdam", "NL"),
    ("zurich", "CH"),
    ("geneva", "CH"),
    ("lausanne", "CH"),
    ("vienna", "AT"),
    ("wien", "AT"),
    ("madrid", "ES"),
    ("barcelona", "ES"),
    ("rome", "IT"),
    ("roma", "IT"),
    ("milan", "IT"),
    ("milano", "IT"),
    ("stockholm", "SE"),
    ("helsinki", "FI"),
    ("oslo", "NO"),
    ("copenhagen", "DK"),
    ("dublin", "IE"),
    ("brussels", "BE"),
    ("warsaw", "PL"),
    ("prague", "CZ"),
    ("tubingen", "DE"),
    ("stuttgart", "DE"),
    ("heidelberg", "DE"),
    ("daejeon", "KR"),
    ("edmonton", "CA"),
    ("sydney", "AU"),
    ("melbourne", "AU"),
    ("delhi", "IN"),
    ("new delhi", "IN"),
    ("mumbai", "IN"),
    ("bangalore", "IN"),
    ("bengaluru", "IN"),
    ("chennai", "IN"),
    ("abu dhabi", "AE"),
    ("dubai", "AE"),
    ("riyadh", "SA"),
    ("tel aviv", "IL"),
    ("jerusalem", "IL"),
    ("haifa", "IL"),
    ("sao paulo", "BR"),
    ("rio de janeiro", "BR"),
    ("mexico city", "MX"),
    ("taipei", "TW"),
    ("osaka", "JP"),
    ("nagoya", "JP"),
    ("tsukuba", "JP"),
    ("busan", "KR"),
    ("pohang", "KR"),
];

/// The canonical form of one folded word.
pub fn canonical(word: &str) -> &str {
    SPELLINGS
        .iter()
        .find(|(a, _)| *a == word)
        .map(|(_, w)| *w)
        .unwrap_or(word)
}

pub fn is_stopword(word: &str) -> bool {
    STOPWORDS.contains(&word)
}

pub fn is_generic(word: &str) -> bool {
    GENERIC.contains(&word)
}

/// How a word was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// All letters capitals ("DFKI"), or no letters.
    Upper,
    /// All letters small.
    Lower,
    /// Anything else ("Mila", "MiLA").
    Mixed,
}

fn case_of(raw: &str) -> Case {
    let upper = raw.chars().any(char::is_uppercase);
    let lower = raw.chars().any(char::is_lowercase);
    match (upper, lower) {
        (_, false) => Case::Upper,
        (false, true) => Case::Lower,
        (true, true) => Case::Mixed,
    }
}

/// One word of a text, folded and in canonical form.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub text: String,
    /// The segment it belongs to (texts are cut at commas, semicolons, brackets …).
    pub segment: usize,
    /// How the original was written.
    pub case: Case,
    /// The original, as written (before folding).
    pub raw: String,
    /// Whether the word after it is a continuation ("for", "of" …) of a longer name.
    pub continued: bool,
    /// Only digits: a postcode, a number.
    pub number: bool,
}

/// Whether a character separates segments.
fn separates(chars: &[char], i: usize) -> bool {
    let c = chars[i];
    if matches!(
        c,
        ',' | ';' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '/' | '\n' | '#'
    ) {
        return true;
    }
    // A dash with a space on either side ("Mila - Quebec", "Mila – Quebec").
    matches!(c, '-' | '–' | '—' | '‐' | '‑')
        && (i > 0 && chars[i - 1].is_whitespace()
            || chars.get(i + 1).is_some_and(|n| n.is_whitespace()))
}

/// The content words of a text: stop words dropped (but remembered as continuations), single
/// letters in a row joined ("U.S." is "us"), common spellings made canonical, "AI" read as
/// "artificial intelligence".
pub fn words(text: &str) -> Vec<Word> {
    let text = decode_entities(text);
    let chars: Vec<char> = text.chars().collect();
    let mut pieces: Vec<(usize, String)> = Vec::new();
    let mut segment = 0;
    let mut current = String::new();
    let mut seen_in_segment = false;
    for i in 0..chars.len() {
        let c = chars[i];
        if separates(&chars, i) {
            if !current.is_empty() {
                pieces.push((segment, std::mem::take(&mut current)));
            }
            if seen_in_segment {
                segment += 1;
                seen_in_segment = false;
            }
        } else if c.is_alphanumeric() {
            current.push(c);
            seen_in_segment = true;
        } else {
            if !current.is_empty() {
                pieces.push((segment, std::mem::take(&mut current)));
            }
            if c == '&' {
                pieces.push((segment, "&".to_string()));
            }
        }
    }
    if !current.is_empty() {
        pieces.push((segment, current));
    }
    // Raw words, folded (folding may split a word in two: keep the parts).
    let mut raw: Vec<(usize, String, String)> = Vec::new();
    for (seg, piece) in pieces {
        if piece == "&" {
            raw.push((seg, piece.clone(), piece));
            continue;
        }
        for part in fold(&piece).split(' ').filter(|p| !p.is_empty()) {
            raw.push((seg, piece.clone(), part.to_string()));
        }
    }
    // Join runs of single letters within a segment ("u s a" -> "usa").
    let mut joined: Vec<(usize, String, String)> = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let single = |k: usize| {
            raw.get(k)
                .is_some_and(|(s, _, f)| *s == raw[i].0 && f.chars().count() == 1)
        };
        if single(i) && single(i + 1) {
            let mut j = i;
            let (mut r, mut f) = (String::new(), String::new());
            while single(j) {
                r.push_str(&raw[j].1);
                f.push_str(&raw[j].2);
                j += 1;
            }
            joined.push((raw[i].0, r, f));
            i = j;
        } else {
            joined.push(raw[i].clone());
            i += 1;
        }
    }
    // "and" and "&" part two organisations as often as they join words of one name: a new
    // segment (a name may span segments).
    let mut shift = 0;
    let mut parted: Vec<(usize, String, String)> = Vec::new();
    for (seg, raw_word, folded) in joined {
        if matches!(folded.as_str(), "and" | "und" | "et") || raw_word == "&" {
            shift += 1;
            continue;
        }
        parted.push((seg + shift, raw_word, folded));
    }
    let mut out: Vec<Word> = Vec::new();
    for (seg, raw_word, folded) in parted {
        if is_stopword(&folded) {
            if CONTINUATIONS.contains(&folded.as_str()) {
                if let Some(last) = out.last_mut().filter(|w| w.segment == seg) {
                    last.continued = true;
                }
            }
            continue;
        }
        let case = case_of(&raw_word);
        let number = folded.chars().all(|c| c.is_ascii_digit());
        let mut push = |text: &str| {
            out.push(Word {
                text: text.to_string(),
                segment: seg,
                case,
                raw: raw_word.clone(),
                continued: false,
                number,
            })
        };
        if folded == "ai" {
            push("artificial");
            push("intelligence");
        } else {
            push(canonical(&folded));
        }
    }
    out
}

/// Text with HTML character references decoded, as metadata often carries them
/// ("Centrum Wiskunde &#x0026; Informatica").
fn decode_entities(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('&') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let body = &tail[1..e];
            let code = if let Some(hex) = body.strip_prefix("#x").or(body.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok()
            } else if let Some(dec) = body.strip_prefix('#') {
                dec.parse().ok()
            } else {
                match body {
                    "amp" => Some(38),
                    "quot" => Some(34),
                    "apos" => Some(39),
                    "lt" => Some(60),
                    "gt" => Some(62),
                    "nbsp" => Some(32),
                    _ => None,
                }
            };
            code.and_then(char::from_u32).map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &tail[e + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// The canonical words of a name, as plain strings.
pub fn name_words(text: &str) -> Vec<String> {
    words(text).into_iter().map(|w| w.text).collect()
}

/// A place phrase in canonical words, as a key ("abu dhabi").
pub fn place_key(text: &str) -> String {
    name_words(text).join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_folds_and_joins() {
        let w = words("Max-Planck-Institut für Intelligente Systeme, U.S.A.\n\tDept. of AI");
        let texts: Vec<&str> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "max",
                "planck",
                "institute",
                "intelligente",
                "systeme",
                "usa",
                "department",
                "artificial",
                "intelligence"
            ]
        );
        assert_eq!(w[2].segment, 0);
        assert!(w[2].continued);
        assert_eq!(w[5].segment, 1);
        assert_eq!(w[6].segment, 2);
        assert_eq!(w[6].case, Case::Mixed);
        let w = words("Mila – Quebec AI Institute");
        assert_eq!(w[0].segment, 0);
        assert_eq!(w[1].segment, 1);
        assert_eq!(words("A*STAR CFAR")[0].text, "star");
    }
}
