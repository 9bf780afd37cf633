//! Full-text search over the dataset catalog, built on Tantivy.
//!
//! A [`CatalogIndex`] is **derived state**: it is built in memory from the
//! catalog's datasets ([`CatalogIndex::build`]) and never written to disk or
//! updated in place. When the catalog changes, the caller builds a new index
//! from the whole catalog and swaps it in (it is `Send + Sync`, so it can sit
//! behind an `Arc`); a portal has at most some ten thousand datasets, which
//! takes well under a second in release.
//!
//! # What is indexed
//!
//! For each [`CatalogDoc`]: the title, the description (HTML tags removed and
//! character references such as `&eacute;` decoded first), the keywords, the
//! themes and the publisher. They go into three groups of fields, each
//! weighted in ranking:
//!
//! | group | holds | weight |
//! | --- | --- | --- |
//! | title | title | ×3 |
//! | tags | keywords, themes | ×2 |
//! | text | description, publisher | ×1 |
//!
//! Each group is indexed twice, once by the French analyzer and once by the
//! English one, plus once unstemmed for prefix and fuzzy matching (title
//! apart, everything else together). Only the dataset id is kept, as a
//! position in a table of ids; nothing is stored for display.
//!
//! # Analysis
//!
//! All analyzers split text into runs of letters and digits (Tantivy's
//! `SimpleTokenizer`), drop tokens of 40 bytes or more, lowercase and fold
//! to ASCII (`Vélo` → `velo`, `œuvre` → `oeuvre`). The French analyzer then
//! applies the French Snowball stemmer, the English one the English stemmer;
//! the third one stops at folding. So `velo` finds `Vélos`, `parkings` finds
//! `Parking`, `elagage` finds `élagage` (and the other way round), `trees`
//! finds `tree`. Stop words are kept in the index.
//!
//! # Query semantics
//!
//! [`CatalogIndex::search`] reads the query as plain words; there is no query
//! syntax and no input is an error:
//!
//! - Words are the runs of letters and digits; everything else separates
//!   them (quotes, parentheses, `:`, `-`, `+`...). `AND`, `OR`, `NOT` are
//!   ordinary words. Repeated words count once; only the first 32 distinct
//!   words are used.
//! - Every word must match (AND), in either analysis: a dataset matches a
//!   word when the French stem of the word is in a French field **or** its
//!   English stem is in an English field, in any of the three groups.
//! - French and English function words (`de`, `la`, `l`, `the`, `of`...)
//!   are the exception: they are optional and only raise the score, unless
//!   the query holds nothing else, in which case they are all required.
//! - A word followed by `*` (`tram*`) also matches every word that starts
//!   with it, after folding (`tram`, `tramway`, `trams`), with a lower,
//!   constant score. A `*` on its own is ignored.
//! - Words of more than 4 characters also match, with a low constant score,
//!   words at Levenshtein distance 1 (a transposition counts as 1), so
//!   `stationement` finds `stationnement`.
//! - A query without any word (empty, blank, or only punctuation) returns no
//!   hits.
//!
//! Ranking is BM25 per field, summed over the words and groups with the
//! weights above (within a group, the better of the French and the English
//! match counts), so a match in a title ranks before a match in a
//! description only. Ties keep catalog order.

#![warn(missing_docs)]

mod analysis;
mod error;
mod html;

use std::collections::HashMap;
use std::fmt;

use tantivy::collector::TopDocs;
use tantivy::columnar::Column;
use tantivy::merge_policy::NoMergePolicy;
use tantivy::query::{
    BooleanQuery, BoostQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{FAST, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::{Index, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use analysis::{Analyzers, QueryWord};
pub use error::{Error, Result};
pub use html::strip_html;

/// One dataset of the catalog, as the index sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogDoc {
    /// The dataset's id, returned in [`Hit::dataset_id`].
    pub dataset_id: String,
    /// Title.
    pub title: String,
    /// Description; may contain HTML, whose tags are removed before indexing.
    pub description: Option<String>,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Themes.
    pub themes: Vec<String>,
    /// Publisher's name.
    pub publisher: Option<String>,
}

/// A dataset matching a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The matching dataset's id.
    pub dataset_id: String,
    /// Relevance; higher is better. Only meaningful within one result list.
    pub score: f32,
}

/// Weight of a match in the title.
const TITLE_BOOST: f32 = 3.0;
/// Weight of a match in the keywords or themes.
const TAGS_BOOST: f32 = 2.0;
/// Weight of a match in the description or publisher.
const TEXT_BOOST: f32 = 1.0;
/// Constant score of a prefix match, times the group's weight.
const PREFIX_SCORE: f32 = 0.5;
/// Constant score of a fuzzy (distance 1) match, times the group's weight.
const FUZZY_SCORE: f32 = 0.25;
/// Words with more than this many characters get fuzzy matching.
const FUZZY_MIN_CHARS: usize = 5;

/// Name of the fast field holding the position of the dataset id in `ids`.
const ORD: &str = "ord";

/// Writer memory: plenty for ten thousand datasets in one segment.
const WRITER_MEMORY: usize = 64 * 1024 * 1024;

#[derive(Clone, Copy)]
struct Fields {
    ord: Field,
    title: Group,
    tags: Group,
    text: Group,
    /// Title, folded and unstemmed.
    title_folded: Field,
    /// Everything but the title, folded and unstemmed.
    body_folded: Field,
}

/// A group of content indexed by both stemmers.
#[derive(Clone, Copy)]
struct Group {
    french: Field,
    english: Field,
    boost: f32,
}

impl Fields {
    fn schema() -> (Schema, Fields) {
        let text = |tokenizer: &str, record: IndexRecordOption| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default().set_tokenizer(tokenizer).set_index_option(record),
            )
        };
        // BM25 needs term frequencies, not positions (there are no phrases).
        let stemmed = |tokenizer| text(tokenizer, IndexRecordOption::WithFreqs);
        // Prefix and fuzzy matches have a constant score: documents suffice.
        let folded = text(analysis::FOLDED, IndexRecordOption::Basic);

        let mut builder = Schema::builder();
        let mut group = |name: &str, boost| Group {
            french: builder.add_text_field(&format!("{name}_fr"), stemmed(analysis::FRENCH)),
            english: builder.add_text_field(&format!("{name}_en"), stemmed(analysis::ENGLISH)),
            boost,
        };
        let title = group("title", TITLE_BOOST);
        let tags = group("tags", TAGS_BOOST);
        let text_group = group("text", TEXT_BOOST);
        let fields = Fields {
            title,
            tags,
            text: text_group,
            title_folded: builder.add_text_field("title_folded", folded.clone()),
            body_folded: builder.add_text_field("body_folded", folded),
            ord: builder.add_u64_field(ORD, FAST),
        };
        (builder.build(), fields)
    }

    fn document(&self, ord: u64, doc: &CatalogDoc) -> TantivyDocument {
        let mut out = TantivyDocument::default();
        out.add_u64(self.ord, ord);
        let mut add = |group: Group, folded: Field, text: &str| {
            if !text.trim().is_empty() {
                out.add_text(group.french, text);
                out.add_text(group.english, text);
                out.add_text(folded, text);
            }
        };
        add(self.title, self.title_folded, &doc.title);
        for tag in doc.keywords.iter().chain(&doc.themes) {
            add(self.tags, self.body_folded, tag);
        }
        if let Some(description) = &doc.description {
            add(self.text, self.body_folded, &html::strip_html(description));
        }
        if let Some(publisher) = &doc.publisher {
            add(self.text, self.body_folded, publisher);
        }
        out
    }
}

/// The full-text index of the catalog, in memory. See the crate
/// documentation for what is indexed and how queries are read.
pub struct CatalogIndex {
    searcher: Searcher,
    fields: Fields,
    analyzers: Analyzers,
    /// Dataset ids, by the `ord` stored with each document.
    ids: Vec<String>,
    /// The `ord` column of each segment, by segment ordinal.
    ords: Vec<Column<u64>>,
}

impl fmt::Debug for CatalogIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatalogIndex")
            .field("datasets", &self.ids.len())
            .field("segments", &self.ords.len())
            .finish_non_exhaustive()
    }
}

impl CatalogIndex {
    /// Builds the index of `docs` in memory.
    ///
    /// When several docs have the same `dataset_id`, the last one is indexed
    /// (as if each replaced the previous one).
    pub fn build(docs: &[CatalogDoc]) -> Result<CatalogIndex> {
        let (schema, fields) = Fields::schema();
        let index = Index::create_in_ram(schema);
        let analyzers = Analyzers::new();
        analyzers.register(index.tokenizers());

        // Last one wins: position of each id's last occurrence.
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(docs.len());
        for (i, doc) in docs.iter().enumerate() {
            last.insert(doc.dataset_id.as_str(), i);
        }
        let mut ids = Vec::with_capacity(last.len());

        let mut writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        writer.set_merge_policy(Box::new(NoMergePolicy));
        for (i, doc) in docs.iter().enumerate() {
            if last.get(doc.dataset_id.as_str()) != Some(&i) {
                continue;
            }
            writer.add_document(fields.document(ids.len() as u64, doc))?;
            ids.push(doc.dataset_id.clone());
        }
        writer.commit()?;
        // One segment makes searching cheaper; merge if the writer made more.
        let segments = index.searchable_segment_ids()?;
        if segments.len() > 1 {
            writer.merge(&segments).wait()?;
        }
        writer.wait_merging_threads()?;

        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let searcher = reader.searcher();
        let ords = searcher
            .segment_readers()
            .iter()
            .map(|segment| segment.fast_fields().u64(ORD))
            .collect::<tantivy::Result<Vec<_>>>()?;
        if searcher.num_docs() != ids.len() as u64 {
            return Err(Error::Internal(format!(
                "indexed {} datasets, the index holds {}",
                ids.len(),
                searcher.num_docs()
            )));
        }
        Ok(CatalogIndex { searcher, fields, analyzers, ids, ords })
    }

    /// Number of datasets in the index.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the index holds no dataset.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The datasets matching `query`, best first, at most `limit` of them.
    ///
    /// See the crate documentation for how the query is read. Any string is
    /// accepted; a query without any word, or a `limit` of 0, gives no hits.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<Hit>> {
        let limit = limit.min(self.ids.len());
        if limit == 0 {
            return Ok(Vec::new());
        }
        let words = self.analyzers.query_words(query);
        let Some(query) = self.query(&words) else {
            return Ok(Vec::new());
        };
        let top = self.searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        top.into_iter()
            .map(|(score, address)| {
                let dataset_id = self
                    .ords
                    .get(address.segment_ord as usize)
                    .and_then(|column| column.first(address.doc_id))
                    .and_then(|ord| self.ids.get(usize::try_from(ord).ok()?))
                    .ok_or_else(|| Error::Internal(format!("no dataset id for {address:?}")))?;
                Ok(Hit { dataset_id: dataset_id.clone(), score })
            })
            .collect()
    }

    /// The query for `words`, or `None` when there is no word.
    fn query(&self, words: &[QueryWord]) -> Option<BooleanQuery> {
        if words.is_empty() {
            return None;
        }
        let only_stop_words = words.iter().all(|w| w.stop_word);
        let clauses = words
            .iter()
            .map(|word| {
                let occur =
                    if word.stop_word && !only_stop_words { Occur::Should } else { Occur::Must };
                (occur, self.word_query(word))
            })
            .collect();
        Some(BooleanQuery::new(clauses))
    }

    /// What one word matches: its stems in any group, in either language,
    /// or (with lower constant scores) a prefix or a near spelling of it.
    fn word_query(&self, word: &QueryWord) -> Box<dyn Query> {
        let f = &self.fields;
        let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for group in [f.title, f.tags, f.text] {
            let stems = [(group.french, &word.french), (group.english, &word.english)]
                .into_iter()
                .filter_map(|(field, stem)| {
                    let term = Term::from_field_text(field, stem.as_deref()?);
                    let query: Box<dyn Query> =
                        Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                    Some(query)
                })
                .collect::<Vec<_>>();
            if !stems.is_empty() {
                let best = DisjunctionMaxQuery::new(stems);
                any.push((Occur::Should, boost(best, group.boost)));
            }
        }
        let folded = [(f.title_folded, f.title.boost), (f.body_folded, f.text.boost)];
        if word.prefix {
            for (field, weight) in folded {
                let term = Term::from_field_text(field, &word.folded);
                // A prefix automaton: distance 0 from a prefix of the term.
                let prefix = FuzzyTermQuery::new_prefix(term, 0, false);
                any.push((Occur::Should, boost(prefix, weight * PREFIX_SCORE)));
            }
        } else if word.folded.chars().count() >= FUZZY_MIN_CHARS {
            for (field, weight) in folded {
                let term = Term::from_field_text(field, &word.folded);
                let near = FuzzyTermQuery::new(term, 1, true);
                any.push((Occur::Should, boost(near, weight * FUZZY_SCORE)));
            }
        }
        Box::new(BooleanQuery::new(any))
    }
}

fn boost(query: impl Query, weight: f32) -> Box<dyn Query> {
    Box::new(BoostQuery::new(Box::new(query), weight))
}
