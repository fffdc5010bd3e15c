use super::*;

fn countries() -> CountryNames {
    CountryNames::new([
        ("GB".to_string(), "United Kingdom".to_string()),
        ("CA".to_string(), "Canada".to_string()),
        ("JP".to_string(), "Japan".to_string()),
        ("DE".to_string(), "Germany".to_string()),
        ("CN".to_string(), "China".to_string()),
        ("SG".to_string(), "Singapore".to_string()),
        ("US".to_string(), "United States".to_string()),
        ("RU".to_string(), "Russian Federation".to_string()),
    ])
}

fn entry(slug: &str, name: &str, acronym: Option<&str>, country: &str, city: &str) -> MatchEntry {
    MatchEntry {
        id: format!("ins_{slug}"),
        slug: slug.into(),
        name: name.into(),
        acronym: acronym.map(str::to_string),
        aliases: Vec::new(),
        country: country.into(),
        city: Some(city.into()),
        status: "active".into(),
        parent: None,
    }
}

fn index() -> MatchIndex {
    MatchIndex::build(
        countries(),
        [
            entry(
                "turing",
                "The Alan Turing Institute",
                Some("ATI"),
                "GB",
                "London",
            ),
            entry(
                "vector",
                "Vector Institute for Artificial Intelligence",
                Some("Vector"),
                "CA",
                "Toronto",
            ),
            entry(
                "ai2",
                "Allen Institute for Artificial Intelligence",
                Some("AI2"),
                "US",
                "Seattle",
            ),
            entry(
                "mpi-is",
                "Max Planck Institute for Intelligent Systems",
                Some("MPI-IS"),
                "DE",
                "Tübingen / Stuttgart",
            ),
            entry(
                "riken-aip",
                "RIKEN Center for Advanced Intelligence Project",
                Some("RIKEN AIP"),
                "JP",
                "Tokyo",
            ),
            entry(
                "baai",
                "Beijing Academy of Artificial Intelligence",
                Some("BAAI"),
                "CN",
                "Beijing",
            ),
            entry(
                "cfar",
                "A*STAR Centre for Frontier AI Research",
                Some("A*STAR CFAR"),
                "SG",
                "Singapore",
            ),
        ],
    )
}

fn chosen(index: &MatchIndex, text: &str) -> Option<String> {
    let m = index.find(text, 5);
    m.chosen.map(|i| m.candidates[i].entry.slug.clone())
}

#[test]
fn names_acronyms_and_typos_choose() {
    let ix = index();
    for (text, slug) in [
        ("The Alan Turing Institute, London, UK", "turing"),
        ("Alan Turring Institute, London", "turing"),
        ("ATI, London", "turing"),
        ("Vector Institute, Toronto, Canada", "vector"),
        (
            "Max-Planck-Institut für Intelligente Systeme, Stuttgart",
            "mpi-is",
        ),
        (
            "Center for Advanced Intelligence Project, RIKEN, Tokyo, Japan",
            "riken-aip",
        ),
        (
            "Beijing Academy of Artificial Intelligence, Beijing, China",
            "baai",
        ),
        ("BAAI, Beijing, P.R. China", "baai"),
        ("A*STAR CFAR, Singapore 138632", "cfar"),
    ] {
        assert_eq!(chosen(&ix, text).as_deref(), Some(slug), "{text}");
    }
    let exact = ix.find("The Alan Turing Institute, London, UK", 5);
    assert_eq!(exact.candidates[0].scored.match_type, MatchType::Exact);
    assert!(exact.candidates[0].scored.country_hint);
}

#[test]
fn places_generic_words_siblings_and_stray_acronyms_do_not() {
    let ix = index();
    for text in [
        "Institute of Automation, Chinese Academy of Sciences, Beijing, China",
        "State Research Center of Virology and Biotechnology VECTOR, Koltsovo, Russia",
        "ATI Physical Therapy, Greenville",
        "Allen Institute, MindScope Program",
        "Allen Institute for Brain Science, Seattle, WA, USA",
        "Max Planck Institute for Biology of Ageing, Cologne, Germany",
        "RIKEN Center for Brain Science, Wako, Saitama, Japan",
        "Institute for Infocomm Research (I2R), A*STAR, Singapore",
        "University of Toronto, Toronto, Canada",
        "The Turing Institute, Glasgow",
    ] {
        assert_eq!(chosen(&ix, text), None, "{text}");
        for c in ix.find(text, 5).candidates {
            assert!(c.scored.score < CHOSEN_MIN, "{text}: {c:?}");
        }
    }
}

#[test]
fn updates_keep_weights_current() {
    let mut ix = index();
    let before = ix.weight("vector");
    ix.upsert(entry("vec2", "Vector Biology Lab", None, "US", "Boston"));
    assert!(ix.weight("vector") < before);
    assert_eq!(ix.len(), 8);
    ix.remove("ins_vec2");
    assert_eq!(ix.weight("vector"), before);
    assert_eq!(ix.len(), 7);
    // A renamed institute is found by its new name only.
    ix.upsert(entry("turing", "Zyxwv Institute", None, "GB", "London"));
    assert_eq!(chosen(&ix, "The Alan Turing Institute, London"), None);
    assert_eq!(
        chosen(&ix, "Zyxwv Institute, London").as_deref(),
        Some("turing")
    );
    assert_eq!(ix.len(), 7);
}

#[test]
fn words_are_held_once_and_let_go_with_the_last_name_holding_them() {
    let mut ix = MatchIndex::new(countries());
    ix.upsert(entry(
        "a",
        "Quokka Robotics Institute",
        Some("QRI"),
        "GB",
        "Leeds",
    ));
    ix.upsert(entry("b", "Quokka Vision Institute", None, "GB", "York"));
    let quokka = |ix: &MatchIndex| ix.terms.get("quokka").cloned();
    // One allocation for "quokka", shared by both entries' variants.
    let shared = quokka(&ix).unwrap();
    assert!(Arc::strong_count(&shared) > 3);
    drop(shared);
    ix.remove("ins_a");
    assert!(quokka(&ix).is_some());
    assert!(!ix.terms.contains("robotics") && !ix.terms.contains("qri"));
    assert_eq!(
        chosen(&ix, "Quokka Vision Institute, York").as_deref(),
        Some("b")
    );
    ix.remove("ins_b");
    assert!(ix.terms.is_empty(), "{:?}", ix.terms);
}
