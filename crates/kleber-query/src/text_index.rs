//! A per-version full-text index of records, so that bare-string search (`where="vélo"`, the
//! portal's table search), `LIKE`, `search()` and `suggest()` read only the rows that can
//! match instead of analysing every text value of the version.
//!
//! **What is indexed.** Each row with text is one Tantivy document: the words of every text
//! field (multivalued items included), analysed exactly as the scanning UDF analyses them
//! ([`crate::text::analysis`]: folded, split, elisions dropped), in three fields: the folded
//! word (`w`), its French stem (`fr`) and its English stem (`en`), one token each (no
//! further tokenisation), plus the row number in the Parquet file (`row`, a fast field).
//! Postings keep document ids only.
//!
//! **How a query word becomes rows.** A query word is expanded to the indexed terms it
//! matches under the UDF's rule ([`crate::fulltext`]), then their postings are unioned: for
//! bare strings and `LIKE`, the word itself in `w` and its stems in `fr`/`en`, or, for `gar*`,
//! every `w` term starting with `gar` (a range of the term dictionary); for `search()`, the
//! same plus every `w` term within the word's edit budget (and a prefix for the last word);
//! for `suggest()`, every `w` term containing the word. Every query word is required. So the
//! rows found are the rows the UDF would keep, over every text field of the version.
//!
//! **How the plan uses them.** The row numbers become a Parquet row selection attached to the
//! version's file in the scan ([`SelectedRows`], DataFusion's `ParquetRowSelection`): only the
//! selected rows are decoded. A bare-string condition over every text field is answered by
//! the index alone and leaves the `where` clause; any other (a `search()`, `LIKE`, a field
//! subset, a view hiding a text field) stays and is checked again on the selected rows, so
//! the answer is always the scan's.
//!
//! **Where it lives.** `text-index/` beside the version's `data.parquet` (versions are
//! immutable, so the index never goes stale), built by [`build`] into a temporary directory
//! and renamed when complete, with a marker naming the format, the row count, the data
//! file's size and the indexed fields; an index whose marker does not fit is ignored. Building
//! holds a bounded writer buffer ([`WRITER_MEMORY`]) and one batch of text at a time. A
//! version without an index (older versions, one still being built) is answered by the scan.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::ArrayRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Statistics;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::TableType;
use datafusion::datasource::physical_plan::parquet::ParquetRowSelection;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::logical_expr::{Expr, LogicalPlan, TableProviderFilterPushDown};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection};
use datafusion::physical_plan::ExecutionPlan;
use kleber_odsql::{Arg, BinaryOp, Expr as Ast, ExprKind, Literal};
use kleber_types::{Field, FieldType};
use serde_json::json;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, Occur, Query, TermSetQuery};
use tantivy::schema::{
    FAST, Field as IndexField, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{
    DocId, Index, IndexReader, ReloadPolicy, Score, SegmentReader, TantivyDocument, Term,
};

use crate::error::{Error, Result};
use crate::fulltext::{MatchMode, TextColumn};
use crate::text::analysis::{Analyzer, Term as QueryTerm, fold_into, within_edits, words};

/// Name of the index directory beside a version's data file.
pub(crate) const DIR: &str = "text-index";
/// The marker written last into a complete index.
const MARKER: &str = "kleber-text-index.json";
/// Version of the index layout; an index of another format is ignored (and rebuilt).
const FORMAT: u64 = 1;
/// Memory of the index writer while building (one thread).
pub(crate) const WRITER_MEMORY: usize = 48 << 20;
/// Words longer than this many bytes are indexed cut to it; a query word longer than this
/// is not answered from the index (the scan answers).
const MAX_WORD: usize = 200;
/// Query words a condition may have to be answered from the index; more, and the scan
/// answers (it is bounded by the query's time limit).
const MAX_INDEX_WORDS: usize = 256;
/// Query words a `search()` or `suggest()` condition may have to be answered from the index:
/// each is compared with every word of the index, so more, and the scan answers.
const MAX_SCAN_WORDS: usize = 16;
/// Distinct words whose stems a build remembers before starting over.
const MAX_STEM_CACHE: usize = 1 << 18;

fn storage(e: impl std::fmt::Display) -> Error {
    Error::Storage(format!("text index: {e}"))
}

/// The index directory of the version whose data file is `data_path`.
pub(crate) fn dir_of(data_path: &Path) -> PathBuf {
    data_path.parent().unwrap_or_else(|| Path::new(".")).join(DIR)
}

struct Fields {
    w: IndexField,
    fr: IndexField,
    en: IndexField,
    row: IndexField,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false),
    );
    let fields = Fields {
        w: builder.add_text_field("w", words.clone()),
        fr: builder.add_text_field("fr", words.clone()),
        en: builder.add_text_field("en", words),
        row: builder.add_u64_field("row", FAST),
    };
    (builder.build(), fields)
}

fn fields_of(schema: &Schema) -> Result<Fields> {
    let get = |name: &str| schema.get_field(name).map_err(storage);
    Ok(Fields { w: get("w")?, fr: get("fr")?, en: get("en")?, row: get("row")? })
}

/// The names of the text fields of `fields` (the ones full-text search reads).
pub(crate) fn text_field_names(fields: &[Field]) -> Vec<String> {
    fields.iter().filter(|f| f.field_type == FieldType::Text).map(|f| f.name.clone()).collect()
}

/// Starts the indexed form of a word or stem longer than [`MAX_WORD`] bytes (cut to it), so
/// that no query word, at most that long, looks it up; dictionary scans read it as a long word.
const LONG: char = '\u{1}';

/// The indexed form of a folded word or stem.
fn indexed(value: &str) -> std::borrow::Cow<'_, str> {
    if value.len() <= MAX_WORD {
        value.into()
    } else {
        // Words are ASCII (folded), so any byte is a character boundary.
        format!("{LONG}{}", &value[..MAX_WORD]).into()
    }
}

/// Builds the index of the version whose data file is `data_path` and whose text fields are
/// among `fields`, unless a complete one is there. Safe to run from two processes at once:
/// each writes its own temporary directory and the first rename wins.
pub(crate) fn build(data_path: &Path, fields: &[Field]) -> Result<()> {
    let dir = dir_of(data_path);
    if dir.join(MARKER).exists() {
        return Ok(());
    }
    let parent = dir.parent().unwrap_or_else(|| Path::new("."));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = parent.join(format!(".{DIR}.tmp-{}-{nanos}", std::process::id()));
    let result = build_into(data_path, fields, &tmp).and_then(|()| {
        match std::fs::rename(&tmp, &dir) {
            Ok(()) => Ok(()),
            // Another builder finished first: keep its index.
            Err(_) if dir.join(MARKER).exists() => Ok(()),
            Err(e) => Err(storage(e)),
        }
    });
    if tmp.exists() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn build_into(data_path: &Path, fields: &[Field], tmp: &Path) -> Result<()> {
    std::fs::create_dir_all(tmp).map_err(storage)?;
    let data_bytes = std::fs::metadata(data_path).map_err(storage)?.len();
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(data_path).map_err(storage)?)
        .map_err(storage)?;
    let total_rows = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let file_schema = builder.schema().clone();
    let names: Vec<String> =
        text_field_names(fields).into_iter().filter(|n| file_schema.index_of(n).is_ok()).collect();
    let roots: Vec<usize> = names.iter().filter_map(|n| file_schema.index_of(n).ok()).collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder.with_projection(mask).with_batch_size(8192).build().map_err(storage)?;

    let (schema, f) = schema();
    let index = Index::create_in_dir(tmp, schema).map_err(storage)?;
    let mut writer: tantivy::IndexWriter =
        index.writer_with_num_threads(1, WRITER_MEMORY).map_err(storage)?;
    let analyzer = Analyzer::default();
    let mut stems: HashMap<String, (String, String)> = HashMap::new();
    let mut row: u64 = 0;
    let mut folded = String::new();
    for batch in reader {
        let batch = batch.map_err(storage)?;
        let columns: Vec<TextColumn> = names
            .iter()
            .filter_map(|n| batch.column_by_name(n))
            .map(|c: &ArrayRef| TextColumn::new(c))
            .collect::<datafusion::common::Result<_>>()?;
        for i in 0..batch.num_rows() {
            folded.clear();
            for column in &columns {
                column.any_value(i, |value| {
                    fold_into(value, &mut folded);
                    folded.push(' ');
                    false
                });
            }
            let mut seen: HashSet<&str> = HashSet::new();
            let mut doc = TantivyDocument::default();
            for word in words(&folded) {
                if !seen.insert(word) {
                    continue;
                }
                if stems.len() >= MAX_STEM_CACHE {
                    stems.clear();
                }
                let (fr, en) = stems.entry(word.to_owned()).or_insert_with(|| {
                    let (fr, en) = analyzer.stems(word);
                    (indexed(&fr).into_owned(), indexed(&en).into_owned())
                });
                doc.add_text(f.w, indexed(word));
                doc.add_text(f.fr, fr.as_str());
                doc.add_text(f.en, en.as_str());
            }
            if !seen.is_empty() {
                doc.add_u64(f.row, row);
                writer.add_document(doc).map_err(storage)?;
            }
            row += 1;
        }
    }
    writer.commit().map_err(storage)?;
    let segments = index.searchable_segment_ids().map_err(storage)?;
    if segments.len() > 1 {
        writer.merge(&segments).wait().map_err(storage)?;
    }
    writer.wait_merging_threads().map_err(storage)?;
    let marker = json!({
        "format": FORMAT,
        "rows": total_rows,
        "data_bytes": data_bytes,
        "fields": names,
    });
    std::fs::write(tmp.join(MARKER), marker.to_string()).map_err(storage)?;
    Ok(())
}

/// An opened index of one version.
pub(crate) struct TextIndex {
    reader: IndexReader,
    fields: Fields,
    /// Rows of the data file.
    pub(crate) rows: usize,
    /// The text fields indexed.
    pub(crate) text_fields: Vec<String>,
}

impl std::fmt::Debug for TextIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextIndex").field("rows", &self.rows).finish_non_exhaustive()
    }
}

impl TextIndex {
    /// Opens the index of the version whose data file is `data_path`; `None` when there is
    /// none, or one that does not fit the file.
    pub(crate) fn open(data_path: &Path) -> Result<Option<TextIndex>> {
        let dir = dir_of(data_path);
        let Ok(marker) = std::fs::read_to_string(dir.join(MARKER)) else { return Ok(None) };
        let marker: serde_json::Value = serde_json::from_str(&marker).map_err(storage)?;
        let data_bytes = std::fs::metadata(data_path).map_err(storage)?.len();
        if marker["format"].as_u64() != Some(FORMAT)
            || marker["data_bytes"].as_u64() != Some(data_bytes)
        {
            return Ok(None);
        }
        let rows = marker["rows"].as_u64().and_then(|r| usize::try_from(r).ok());
        let Some(rows) = rows else { return Ok(None) };
        let text_fields = marker["fields"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let index = Index::open_in_dir(&dir).map_err(storage)?;
        let fields = fields_of(&index.schema())?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(storage)?;
        Ok(Some(TextIndex { reader, fields, rows, text_fields }))
    }

    /// The rows matching every word of `terms` in `mode`, sorted; `None` when the index cannot
    /// answer (a word too long, too many words, `startswith()`).
    pub(crate) fn rows(&self, terms: &[QueryTerm], mode: MatchMode) -> Result<Option<Vec<u32>>> {
        if mode == MatchMode::Prefix
            || terms.len() > MAX_INDEX_WORDS
            || (mode != MatchMode::Words && terms.len() > MAX_SCAN_WORDS)
            || terms.iter().any(|t| [&t.text, &t.fr, &t.en].iter().any(|w| w.len() > MAX_WORD))
        {
            return Ok(None);
        }
        let searcher = self.reader.searcher();
        // Typos and substrings need every `w` term of every segment; prefixes only a range.
        let scans = mode != MatchMode::Words;
        let vocabulary = if scans { self.vocabulary(&searcher)? } else { Vec::new() };
        let mut required: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len());
        for term in terms {
            let mut set = Vec::new();
            let stems = match mode {
                MatchMode::Words => !term.prefix,
                MatchMode::Fuzzy => true,
                MatchMode::Partial | MatchMode::Prefix => false,
            };
            if stems {
                set.push(Term::from_field_text(self.fields.w, &term.text));
                set.push(Term::from_field_text(self.fields.fr, &term.fr));
                set.push(Term::from_field_text(self.fields.en, &term.en));
            }
            if mode == MatchMode::Words && term.prefix {
                // The words starting with it, and the long words whose first bytes do.
                for start in [term.text.clone(), format!("{LONG}{}", term.text)] {
                    for word in self.starting_with(&searcher, &start)? {
                        set.push(Term::from_field_text(self.fields.w, &word));
                    }
                }
            }
            for word in &vocabulary {
                // A long word is known by its first bytes only: typos and substrings keep it
                // as a candidate (those conditions are checked again on the rows).
                let hit = word.starts_with(LONG)
                    || match mode {
                        MatchMode::Fuzzy => {
                            (term.prefix && word.starts_with(&term.text))
                                || within_edits(&term.text, word, term.max_edits)
                        }
                        MatchMode::Partial => word.contains(term.text.as_str()),
                        MatchMode::Words | MatchMode::Prefix => false,
                    };
                if hit {
                    set.push(Term::from_field_text(self.fields.w, word));
                }
            }
            required.push((Occur::Must, Box::new(TermSetQuery::new(set))));
        }
        let query = BooleanQuery::new(required);
        let mut rows =
            searcher.search(&query, &RowCollector { row: self.fields.row }).map_err(storage)?;
        rows.sort_unstable();
        Ok(Some(rows))
    }
}

impl TextIndex {
    /// Every `w` term of the index (each once).
    fn vocabulary(&self, searcher: &tantivy::Searcher) -> Result<Vec<String>> {
        let mut all = HashSet::new();
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(self.fields.w).map_err(storage)?;
            let mut stream = inverted.terms().stream().map_err(storage)?;
            while let Some((key, _)) = stream.next() {
                if let Ok(word) = std::str::from_utf8(key)
                    && !all.contains(word)
                {
                    all.insert(word.to_owned());
                }
            }
        }
        Ok(all.into_iter().collect())
    }

    /// The `w` terms starting with `start` (ASCII), read from a range of the term dictionary.
    fn starting_with(&self, searcher: &tantivy::Searcher, start: &str) -> Result<Vec<String>> {
        let mut end = start.as_bytes().to_vec();
        if let Some(last) = end.last_mut() {
            // ASCII, so never 0xFF.
            *last += 1;
        }
        let mut found = HashSet::new();
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(self.fields.w).map_err(storage)?;
            let range = inverted.terms().range().ge(start.as_bytes()).lt(&end);
            let mut stream = range.into_stream().map_err(storage)?;
            while let Some((key, _)) = stream.next() {
                if let Ok(word) = std::str::from_utf8(key) {
                    found.insert(word.to_owned());
                }
            }
        }
        Ok(found.into_iter().collect())
    }
}

/// Collects the `row` fast field of every matching document.
struct RowCollector {
    row: IndexField,
}

struct SegmentRows {
    column: Column<u64>,
    rows: Vec<u32>,
}

impl Collector for RowCollector {
    type Fruit = Vec<u32>;
    type Child = SegmentRows;

    fn for_segment(&self, _ord: u32, segment: &SegmentReader) -> tantivy::Result<SegmentRows> {
        let name = segment.schema().get_field_name(self.row).to_owned();
        Ok(SegmentRows { column: segment.fast_fields().u64(&name)?, rows: Vec::new() })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<u32>>) -> tantivy::Result<Vec<u32>> {
        Ok(fruits.concat())
    }
}

impl SegmentCollector for SegmentRows {
    type Fruit = Vec<u32>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if let Some(row) = self.column.first(doc) {
            self.rows.push(u32::try_from(row).unwrap_or(u32::MAX));
        }
    }

    fn harvest(self) -> Vec<u32> {
        self.rows
    }
}

/// Sorted row numbers as a selection over a file of `total` rows.
pub(crate) fn selection(rows: &[u32], total: usize) -> RowSelection {
    let mut ranges = Vec::new();
    let mut iter = rows.iter().map(|&r| r as usize).filter(|&r| r < total).peekable();
    while let Some(start) = iter.next() {
        let mut end = start + 1;
        while iter.peek() == Some(&end) {
            iter.next();
            end += 1;
        }
        ranges.push(start..end);
    }
    RowSelection::from_consecutive_ranges(ranges.into_iter(), total)
}

/// One top-level condition of a `where` clause that the index can narrow.
#[derive(Debug)]
struct Condition {
    /// Which `where` parameter.
    clause: usize,
    /// The words, in the condition's mode.
    terms: Vec<QueryTerm>,
    mode: MatchMode,
    /// A bare string over every text field: the index answers it exactly.
    bare: bool,
}

/// The conditions `AND`ed at the top of `ast` (parentheses are not nodes), with their spans.
fn conjuncts<'a>(ast: &'a Ast, out: &mut Vec<&'a Ast>) {
    match &ast.kind {
        ExprKind::Binary { op: BinaryOp::And, left, right } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        _ => out.push(ast),
    }
}

/// The text a full-text condition looks for and its mode, if `ast` is one the index can
/// narrow, with whether it is a bare string.
fn full_text(ast: &Ast) -> Option<(&str, MatchMode, bool)> {
    fn string(e: &Ast) -> Option<&str> {
        match &e.kind {
            ExprKind::Literal(Literal::String(s)) => Some(s.as_str()),
            _ => None,
        }
    }
    match &ast.kind {
        ExprKind::FullText(text) => Some((text, MatchMode::Words, true)),
        ExprKind::Like { pattern, negated: false, .. } => {
            Some((string(pattern)?, MatchMode::Words, false))
        }
        ExprKind::Call { name, args, distinct: false, .. } => {
            let mode = match name.as_str() {
                "search" => MatchMode::Fuzzy,
                "suggest" => MatchMode::Partial,
                _ => return None,
            };
            match args.last()? {
                Arg::Expr(e) => Some((string(e)?, mode, false)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// What the index does for one query: the rows to read, and the `where` clauses left to run
/// on them.
#[derive(Debug)]
pub(crate) struct Narrowed {
    /// Rows of the data file that may match, sorted.
    pub(crate) rows: Vec<u32>,
    /// The query's `where` clauses without the conditions the index answered exactly.
    pub(crate) r#where: Vec<String>,
}

/// Whether any `where` clause holds a condition the index could narrow (checked before the
/// index is opened or built).
pub(crate) fn wanted(where_clauses: &[String]) -> bool {
    where_clauses.iter().any(|text| {
        kleber_odsql::parse_where(text).is_ok_and(|ast| {
            let mut parts = Vec::new();
            conjuncts(&ast, &mut parts);
            parts.iter().any(|p| full_text(p).is_some())
        })
    })
}

/// Narrows a query with the index: `None` when no condition of `where_clauses` can use it.
/// `visible_text_fields` are the text fields the query sees (all of them, or a view's): a
/// bare string is answered exactly only when they are the indexed ones.
pub(crate) fn narrow(
    index: &TextIndex,
    where_clauses: &[String],
    visible_text_fields: &[String],
) -> Result<Option<Narrowed>> {
    let analyzer = Analyzer::default();
    let exact_fields = {
        let mut a = visible_text_fields.to_vec();
        let mut b = index.text_fields.clone();
        a.sort();
        b.sort();
        a == b
    };
    let mut parsed = Vec::with_capacity(where_clauses.len());
    for text in where_clauses {
        let Ok(ast) = kleber_odsql::parse_where(text) else { return Ok(None) };
        parsed.push(ast);
    }
    let mut conditions = Vec::new();
    for (clause, ast) in parsed.iter().enumerate() {
        let mut parts = Vec::new();
        conjuncts(ast, &mut parts);
        for part in parts {
            let Some((query, mode, bare)) = full_text(part) else { continue };
            if crate::limits::check_text_literal(query).is_some() {
                continue;
            }
            let mut terms = analyzer.terms(query);
            if mode == MatchMode::Fuzzy
                && let Some(last) = terms.last_mut()
            {
                last.prefix = true;
            }
            conditions.push((part.span, Condition { clause, terms, mode, bare }));
        }
    }
    let mut rows: Option<Vec<u32>> = None;
    let mut answered = Vec::new();
    for (span, condition) in &conditions {
        // No words: the condition keeps every row (and, bare, can go), unless there is no
        // text field at all, where a bare string keeps none (as the scan lowers it).
        if condition.terms.is_empty() {
            if condition.bare && exact_fields && !visible_text_fields.is_empty() {
                answered.push((condition.clause, *span));
            }
            continue;
        }
        let Some(found) = index.rows(&condition.terms, condition.mode)? else { continue };
        if condition.bare && exact_fields {
            answered.push((condition.clause, *span));
        }
        rows = Some(match rows {
            None => found,
            Some(before) => intersect(&before, &found),
        });
    }
    let Some(rows) = rows else {
        return Ok(None);
    };
    let r#where = where_clauses
        .iter()
        .enumerate()
        .filter_map(|(clause, text)| {
            let gone: Vec<_> = answered.iter().filter(|(c, _)| *c == clause).collect();
            if gone.is_empty() {
                return Some(text.clone());
            }
            let mut parts = Vec::new();
            conjuncts(&parsed[clause], &mut parts);
            let kept: Vec<String> = parts
                .iter()
                .filter(|p| !gone.iter().any(|(_, s)| *s == p.span))
                .map(|p| format!("({})", &text[p.span.start..p.span.end]))
                .collect();
            (!kept.is_empty()).then(|| kept.join(" AND "))
        })
        .collect();
    Ok(Some(Narrowed { rows, r#where }))
}

fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// The opened indexes by (uid, version), and the versions whose index is being built or
/// failed to build in this process.
#[derive(Default)]
pub(crate) struct TextIndexes {
    open: Mutex<HashMap<(String, i64), Arc<TextIndex>>>,
    /// Versions being built now, or whose build failed (not retried until restart).
    started: Mutex<HashSet<(String, i64)>>,
}

impl std::fmt::Debug for TextIndexes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextIndexes").finish_non_exhaustive()
    }
}

/// Most opened indexes kept (each holds file maps, little memory).
const MAX_OPEN: usize = 256;

impl TextIndexes {
    /// The index of a version, opened once; `None` when it has none (yet).
    pub(crate) fn get(&self, key: &(String, i64), data_path: &Path) -> Option<Arc<TextIndex>> {
        let lock = || self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(index) = lock().get(key) {
            return Some(Arc::clone(index));
        }
        let index = Arc::new(TextIndex::open(data_path).ok().flatten()?);
        let mut open = lock();
        if open.len() >= MAX_OPEN {
            open.clear();
        }
        open.insert(key.clone(), Arc::clone(&index));
        Some(index)
    }

    /// Builds the index of a version in a background thread, once per process (one build at
    /// a time: builders queue on a lock), unless one is there or being built.
    pub(crate) fn build_in_background(
        self: &Arc<Self>,
        key: (String, i64),
        data_path: PathBuf,
        fields: Vec<Field>,
    ) {
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        {
            let mut started =
                self.started.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !started.insert(key) {
                return;
            }
        }
        let spawned =
            std::thread::Builder::new().name("kleber-text-index".to_owned()).spawn(move || {
                let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Err(e) = build(&data_path, &fields) {
                    eprintln!("kleber: text index of {} not built: {e}", data_path.display());
                }
            });
        if let Err(e) = spawned {
            // No thread: the scan keeps answering.
            eprintln!("kleber: no thread to build a text index: {e}");
        }
    }
}

/// A Parquet table read through a row selection: the scan of the wrapped provider (the
/// version's `ListingTable`) with [`ParquetRowSelection`] attached to its file, so the reader
/// decodes only the selected rows. Its statistics are unknown (the file's row count is not
/// the selection's), so no count is answered from them.
#[derive(Debug)]
pub(crate) struct SelectedRows {
    inner: Arc<dyn TableProvider>,
    selection: RowSelection,
}

impl SelectedRows {
    /// `table` (a scan of one Parquet file, as `read_parquet` makes it) restricted to `rows`.
    pub(crate) fn restrict(
        ctx: &datafusion::prelude::SessionContext,
        table: &datafusion::dataframe::DataFrame,
        rows: &[u32],
        total: usize,
    ) -> Result<datafusion::dataframe::DataFrame> {
        let LogicalPlan::TableScan(scan) = table.logical_plan() else {
            return Err(Error::Internal("a version's scan is not a table scan".to_owned()));
        };
        let inner = datafusion::datasource::source_as_provider(&scan.source)?;
        let provider = SelectedRows { inner, selection: selection(rows, total) };
        Ok(ctx.read_table(Arc::new(provider))?)
    }

    fn attach(
        &self,
        plan: Arc<dyn ExecutionPlan>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let selection = self.selection.clone();
        plan.transform_down(|node| {
            let Some(exec) = node.downcast_ref::<DataSourceExec>() else {
                return Ok(Transformed::no(node));
            };
            let Some(config) = exec.data_source().downcast_ref::<FileScanConfig>() else {
                return Ok(Transformed::no(node));
            };
            let groups = config
                .file_groups
                .iter()
                .map(|group| {
                    FileGroup::new(
                        group
                            .iter()
                            .map(|file| {
                                let mut file = file.clone();
                                file.statistics = None;
                                file.with_extension(ParquetRowSelection::new(selection.clone()))
                            })
                            .collect(),
                    )
                })
                .collect();
            let schema = config.file_source.table_schema().table_schema().clone();
            let rebuilt = FileScanConfigBuilder::from(config.clone())
                .with_file_groups(groups)
                .with_statistics(Statistics::new_unknown(&schema))
                .build();
            let exec: Arc<dyn ExecutionPlan> = DataSourceExec::from_data_source(rebuilt);
            Ok(Transformed::yes(exec))
        })
        .map(|t| t.data)
    }
}

#[async_trait::async_trait]
impl TableProvider for SelectedRows {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        self.attach(self.inner.scan(state, projection, filters, limit).await?)
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::common::Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }
}
