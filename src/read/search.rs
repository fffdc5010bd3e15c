//! Search over names, acronyms and aliases with tantivy: an index in memory, one document per
//! institute (its ordinal, its folded name, its folded acronym and aliases). A query word
//! matches as the start of a word; a word no indexed word starts with is matched by Levenshtein
//! automata within its typo budget. Scores are BM25 (names weigh more than aliases), so a short
//! name that is all of the words ranks above a long one that merely holds them.

use super::table::{Table, Words};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::Bm25StatisticsProvider;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, FAST, INDEXED, TEXT};
use tantivy::{
    DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentOrdinal, SegmentReader,
    TantivyDocument, Term,
};

/// One word of a query, as the index is asked for it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryWord {
    pub word: String,
    /// Matched by Levenshtein distance (this many edits) instead of as a prefix.
    pub typos: Option<u8>,
}

/// The index and its one writer.
pub struct SearchIndex {
    reader: IndexReader,
    writer: std::sync::Mutex<IndexWriter>,
    ord: Field,
    name: Field,
    other: Field,
}

/// Memory the writer may use before it flushes a segment (tantivy's least).
const WRITER_MEMORY: usize = 15_000_000;

impl SearchIndex {
    pub fn new() -> tantivy::Result<SearchIndex> {
        let mut schema = Schema::builder();
        let ord = schema.add_u64_field("ord", INDEXED | FAST);
        let name = schema.add_text_field("name", TEXT);
        let other = schema.add_text_field("other", TEXT);
        let index = Index::create_in_ram(schema.build());
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            reader,
            writer: std::sync::Mutex::new(writer),
            ord,
            name,
            other,
        })
    }

    /// Puts (or replaces) the documents of these rows and takes out those of `removed`, then
    /// commits; the change is visible after [`SearchIndex::reload`].
    pub fn write<'a>(
        &self,
        put: impl IntoIterator<Item = (u32, &'a str, &'a str)>,
        removed: impl IntoIterator<Item = u32>,
    ) -> tantivy::Result<()> {
        let mut writer = self
            .writer
            .lock()
            .map_err(|_| tantivy::TantivyError::InternalError("search writer poisoned".into()))?;
        for ord in removed {
            writer.delete_term(Term::from_field_u64(self.ord, u64::from(ord)));
        }
        for (ord, name, other) in put {
            writer.delete_term(Term::from_field_u64(self.ord, u64::from(ord)));
            let mut doc = TantivyDocument::default();
            doc.add_u64(self.ord, u64::from(ord));
            doc.add_text(self.name, name);
            doc.add_text(self.other, other);
            writer.add_document(doc)?;
        }
        writer.commit()?;
        Ok(())
    }

    /// Makes what was committed visible to searches.
    pub fn reload(&self) -> tantivy::Result<()> {
        self.reader.reload()
    }

    /// Every institute matching all the words, with its score (BM25 with the statistics of
    /// `table`, the same however the index is segmented).
    pub fn search(&self, words: &[QueryWord], table: &Table) -> tantivy::Result<Vec<(u32, f32)>> {
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in words {
            let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for (field, weight) in [(self.name, 2.0), (self.other, 1.0)] {
                let term = Term::from_field_text(field, &w.word);
                match w.typos {
                    Some(d) => should.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(
                            Box::new(FuzzyTermQuery::new(term, d, true)),
                            weight * 0.5,
                        )),
                    )),
                    None => {
                        should.push((
                            Occur::Should,
                            Box::new(BoostQuery::new(
                                Box::new(TermQuery::new(
                                    term.clone(),
                                    IndexRecordOption::WithFreqs,
                                )),
                                weight,
                            )),
                        ));
                        should.push((
                            Occur::Should,
                            Box::new(BoostQuery::new(
                                Box::new(FuzzyTermQuery::new_prefix(term, 0, false)),
                                weight * 0.25,
                            )),
                        ));
                    }
                }
            }
            must.push((Occur::Must, Box::new(BooleanQuery::new(should))));
        }
        let query = BooleanQuery::new(must);
        let searcher = self.reader.searcher();
        let statistics = Statistics {
            table,
            name: self.name,
        };
        searcher.search_with_statistics_provider(&query, &Hits { ord: self.ord }, &statistics)
    }
}

/// BM25's statistics from the read model's rows.
struct Statistics<'a> {
    table: &'a Table,
    name: Field,
}

impl Statistics<'_> {
    fn words(&self, field: Field) -> &Words {
        if field == self.name {
            &self.table.name_words
        } else {
            &self.table.other_words
        }
    }
}

impl Bm25StatisticsProvider for Statistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        Ok(self.words(field).total)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.table.len())
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let value = term.value();
        let word = value.as_str().unwrap_or_default();
        Ok(u64::from(
            self.words(term.field())
                .holders
                .get(word)
                .copied()
                .unwrap_or(0),
        ))
    }
}

/// Collects every hit's ordinal and score.
struct Hits {
    ord: Field,
}

struct SegmentHits {
    ords: tantivy::columnar::Column<u64>,
    out: Vec<(u32, f32)>,
}

impl Collector for Hits {
    type Fruit = Vec<(u32, f32)>;
    type Child = SegmentHits;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentHits> {
        let name = segment.schema().get_field_name(self.ord).to_string();
        Ok(SegmentHits {
            ords: segment.fast_fields().u64(&name)?,
            out: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(u32, f32)>>) -> tantivy::Result<Vec<(u32, f32)>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for SegmentHits {
    type Fruit = Vec<(u32, f32)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        if let Some(ord) = self.ords.first(doc) {
            self.out.push((ord as u32, score));
        }
    }

    fn harvest(self) -> Vec<(u32, f32)> {
        self.out
    }
}
