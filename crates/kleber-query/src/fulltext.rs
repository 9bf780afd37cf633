//! Full-text matching as one DataFusion UDF with four modes: bare strings and `LIKE`
//! (`where="vélo"`, `nom LIKE "gare"`), `search()`, `suggest()` and `startswith()`.
//!
//! Every mode takes the query literal first, then the text columns to search (plain `Utf8`,
//! `LargeUtf8`, `Utf8View`, or lists of them for multivalued fields; anything else is cast to
//! text). Text is analysed by [`crate::text::analysis`]: folded (accents and case), split into
//! words, stemmed in French and English. A row matches when every word of the query matches a
//! word of one of its values, in any of the columns:
//!
//! | mode | a query word matches a record word when |
//! |---|---|
//! | [`MatchMode::Words`] (bare strings, `LIKE`) | they are the same word (equal or same French or English stem); with a trailing `*`, the record word starts with it |
//! | [`MatchMode::Fuzzy`] (`search()`) | the same word, or within 1 edit (words of 3-5 letters) or 2 edits (6 letters or more); the last query word (and any starred one) also matches as a prefix |
//! | [`MatchMode::Partial`] (`suggest()`) | the record word contains it |
//!
//! [`MatchMode::Prefix`] (`startswith()`) is not word-based: a row matches when one of its
//! values, folded, starts with the folded query.
//!
//! A query without words matches every row; null values never match anything.
//!
//! Each batch analyses the query once, and remembers, for every distinct record word it meets,
//! which query words it matches, so that stemming and edit distances run once per distinct
//! word, not once per occurrence.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, LargeListArray, LargeStringArray, ListArray,
    StringArray, StringViewArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::text::analysis::{Analyzer, Term, fold, fold_into, folded_starts_with, within_edits};

/// How query words match record words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MatchMode {
    /// Bare strings and `LIKE`: same word (stems), `*` for prefixes.
    Words,
    /// `search()`: same word or a few edits away; the last word is also a prefix.
    Fuzzy,
    /// `suggest()`: a substring of a word.
    Partial,
    /// `startswith()`: the folded value starts with the folded query.
    Prefix,
}

/// `kleber_fulltext(query, text_column, ...)` and its siblings `kleber_search`,
/// `kleber_suggest`, `kleber_startswith`: true when the row matches `query` (see the module
/// documentation); never null.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct FullTextUdf {
    signature: Signature,
    mode: MatchMode,
}

impl FullTextUdf {
    /// The UDF of bare strings and `LIKE`.
    pub(crate) fn new() -> Self {
        Self::with_mode(MatchMode::Words)
    }

    /// The UDF of one of the modes.
    pub(crate) fn with_mode(mode: MatchMode) -> Self {
        FullTextUdf { signature: Signature::variadic_any(Volatility::Immutable), mode }
    }
}

impl ScalarUDFImpl for FullTextUdf {
    fn name(&self) -> &str {
        match self.mode {
            MatchMode::Words => "kleber_fulltext",
            MatchMode::Fuzzy => "kleber_search",
            MatchMode::Partial => "kleber_suggest",
            MatchMode::Prefix => "kleber_startswith",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let mut iter = args.args.into_iter();
        let query = match iter.next() {
            Some(ColumnarValue::Scalar(
                ScalarValue::Utf8(Some(q))
                | ScalarValue::Utf8View(Some(q))
                | ScalarValue::LargeUtf8(Some(q)),
            )) => q,
            other => {
                return exec_err!("{} expects a literal query first, got {other:?}", self.name());
            }
        };
        let mut columns = Vec::new();
        for arg in iter {
            columns.push(TextColumn::new(&arg.into_array(rows)?)?);
        }
        let matches = match self.mode {
            MatchMode::Prefix => starts_with(&query, &columns, rows),
            mode => match_words(&query, mode, &columns, rows),
        };
        Ok(ColumnarValue::Array(Arc::new(matches)))
    }
}

/// `startswith()` over a batch.
fn starts_with(
    query: &str,
    columns: &[TextColumn],
    rows: usize,
) -> datafusion::arrow::array::BooleanArray {
    let prefix = fold(query);
    let mut out = BooleanBuilder::with_capacity(rows);
    for row in 0..rows {
        let hit = columns.iter().any(|c| c.any_value(row, |v| folded_starts_with(v, &prefix)));
        out.append_value(hit);
    }
    out.finish()
}

/// The word-based modes over a batch.
fn match_words(
    query: &str,
    mode: MatchMode,
    columns: &[TextColumn],
    rows: usize,
) -> datafusion::arrow::array::BooleanArray {
    let analyzer = Analyzer::default();
    let mut terms = analyzer.terms(query);
    if mode == MatchMode::Fuzzy
        && let Some(last) = terms.last_mut()
    {
        last.prefix = true;
    }
    let mut out = BooleanBuilder::with_capacity(rows);
    if terms.is_empty() {
        out.append_n(rows, true);
        return out.finish();
    }
    let mut matcher = Matcher::new(&analyzer, &terms, mode);
    let mut found = vec![0u64; matcher.chunks];
    let mut folded = String::new();
    for row in 0..rows {
        found.fill(0);
        let hit = columns.iter().any(|column| {
            column.any_value(row, |value| {
                folded.clear();
                fold_into(value, &mut folded);
                crate::text::analysis::words(&folded).any(|word| matcher.add(word, &mut found))
            })
        });
        out.append_value(hit);
    }
    out.finish()
}

/// Most distinct words a batch remembers before starting over.
const MAX_REMEMBERED_WORDS: usize = 1 << 16;

/// Which query words each record word matches, remembered per distinct record word as one bit
/// per query word (in chunks of 64 query words).
struct Matcher<'a> {
    analyzer: &'a Analyzer,
    terms: &'a [Term],
    mode: MatchMode,
    /// Number of 64-bit chunks of a mask.
    chunks: usize,
    /// The mask of a row in which every query word was found.
    complete: Vec<u64>,
    /// Whether record words must be stemmed (not when every query word is a prefix).
    needs_stems: bool,
    /// Record word → offset of its mask in `masks`.
    index: HashMap<Box<str>, usize>,
    masks: Vec<u64>,
}

impl<'a> Matcher<'a> {
    fn new(analyzer: &'a Analyzer, terms: &'a [Term], mode: MatchMode) -> Self {
        let chunks = terms.len().div_ceil(64);
        let mut complete = vec![u64::MAX; chunks];
        if !terms.len().is_multiple_of(64) {
            complete[chunks - 1] = (1u64 << (terms.len() % 64)) - 1;
        }
        Matcher {
            analyzer,
            terms,
            mode,
            chunks,
            complete,
            needs_stems: match mode {
                MatchMode::Words => terms.iter().any(|t| !t.prefix),
                MatchMode::Fuzzy => true,
                MatchMode::Partial | MatchMode::Prefix => false,
            },
            index: HashMap::new(),
            masks: Vec::new(),
        }
    }

    /// Adds the query words `word` matches to `found`; true once every query word was found.
    fn add(&mut self, word: &str, found: &mut [u64]) -> bool {
        let at = match self.index.get(word) {
            Some(&at) => at,
            None => {
                if self.index.len() >= MAX_REMEMBERED_WORDS {
                    self.index.clear();
                    self.masks.clear();
                }
                let at = self.masks.len();
                self.compute(word);
                self.index.insert(word.into(), at);
                at
            }
        };
        for (f, m) in found.iter_mut().zip(&self.masks[at..at + self.chunks]) {
            *f |= *m;
        }
        *found == *self.complete
    }

    /// Appends the mask of `word` to `masks`.
    fn compute(&mut self, word: &str) {
        let stems = self.needs_stems.then(|| self.analyzer.stems(word));
        let same_word = |t: &Term| {
            word == t.text
                || stems
                    .as_ref()
                    .is_some_and(|(fr, en)| *fr == t.fr.as_str() || *en == t.en.as_str())
        };
        for chunk in self.terms.chunks(64) {
            let mut mask = 0u64;
            for (bit, term) in chunk.iter().enumerate() {
                let hit = match self.mode {
                    MatchMode::Words => {
                        if term.prefix {
                            word.starts_with(&term.text)
                        } else {
                            same_word(term)
                        }
                    }
                    MatchMode::Fuzzy => {
                        (term.prefix && word.starts_with(&term.text))
                            || same_word(term)
                            || within_edits(&term.text, word, term.max_edits)
                    }
                    MatchMode::Partial | MatchMode::Prefix => word.contains(term.text.as_str()),
                };
                if hit {
                    mask |= 1 << bit;
                }
            }
            self.masks.push(mask);
        }
    }
}

/// The strings of a column, borrowed without copying for the string types.
pub(crate) enum Strings {
    Utf8(StringArray),
    Large(LargeStringArray),
    View(StringViewArray),
}

impl Strings {
    fn new(array: &ArrayRef) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Utf8 => Strings::Utf8(array.as_string::<i32>().clone()),
            DataType::LargeUtf8 => Strings::Large(array.as_string::<i64>().clone()),
            DataType::Utf8View => Strings::View(array.as_string_view().clone()),
            _ => Strings::Utf8(cast(array, &DataType::Utf8)?.as_string::<i32>().clone()),
        })
    }

    fn get(&self, i: usize) -> Option<&str> {
        match self {
            Strings::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            Strings::Large(a) => a.is_valid(i).then(|| a.value(i)),
            Strings::View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }
}

/// A text column, plain or multivalued.
pub(crate) enum TextColumn {
    Plain(Strings),
    List(ListArray, Strings),
    LargeList(LargeListArray, Strings),
}

impl TextColumn {
    pub(crate) fn new(array: &ArrayRef) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::List(_) => {
                let list = array.as_list::<i32>();
                TextColumn::List(list.clone(), Strings::new(list.values())?)
            }
            DataType::LargeList(_) => {
                let list = array.as_list::<i64>();
                TextColumn::LargeList(list.clone(), Strings::new(list.values())?)
            }
            _ => TextColumn::Plain(Strings::new(array)?),
        })
    }

    /// Whether `f` holds for one of the non-null values of `row` (one, or the items of a
    /// multivalued field); stops at the first that does.
    pub(crate) fn any_value(&self, row: usize, mut f: impl FnMut(&str) -> bool) -> bool {
        match self {
            TextColumn::Plain(strings) => strings.get(row).is_some_and(f),
            TextColumn::List(list, strings) => {
                list.is_valid(row) && {
                    let offsets = list.value_offsets();
                    (offsets[row] as usize..offsets[row + 1] as usize)
                        .any(|i| strings.get(i).is_some_and(&mut f))
                }
            }
            TextColumn::LargeList(list, strings) => {
                list.is_valid(row) && {
                    let offsets = list.value_offsets();
                    (offsets[row] as usize..offsets[row + 1] as usize)
                        .any(|i| strings.get(i).is_some_and(&mut f))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{BooleanArray, ListBuilder, StringBuilder};

    use super::*;

    fn plain(values: &[Option<&str>]) -> TextColumn {
        let array: ArrayRef = Arc::new(StringArray::from(values.to_vec()));
        TextColumn::new(&array).expect("text column")
    }

    fn run(mode: MatchMode, query: &str, columns: &[TextColumn], rows: usize) -> Vec<bool> {
        let out: BooleanArray = match mode {
            MatchMode::Prefix => starts_with(query, columns, rows),
            _ => match_words(query, mode, columns, rows),
        };
        out.iter().map(|v| v.expect("never null")).collect()
    }

    #[test]
    fn words_mode_stems_folds_and_prefixes() {
        let column = plain(&[Some("Vélo à Hœnheim"), Some("Parking Gutenberg"), None]);
        let cols = [column];
        assert_eq!(run(MatchMode::Words, "VELOS hoenheim", &cols, 3), [true, false, false]);
        assert_eq!(run(MatchMode::Words, "gutenb", &cols, 3), [false, false, false]);
        assert_eq!(run(MatchMode::Words, "gutenb*", &cols, 3), [false, true, false]);
        assert_eq!(run(MatchMode::Words, "parc", &cols, 3), [false, false, false]);
        // The English stem of `parking` is `park`.
        assert_eq!(run(MatchMode::Words, "park", &cols, 3), [false, true, false]);
        assert_eq!(run(MatchMode::Words, "parkings", &cols, 3), [false, true, false]);
        assert_eq!(run(MatchMode::Words, "", &cols, 3), [true, true, true]);
    }

    #[test]
    fn words_may_come_from_different_columns_and_list_items() {
        let mut builder = ListBuilder::new(StringBuilder::new());
        builder.append_value([Some("Musée"), Some("Gare")]);
        builder.append_null();
        builder.append_value([None, Some("Théâtre")]);
        let list: ArrayRef = Arc::new(builder.finish());
        let cols =
            [plain(&[Some("Exposition"), Some("Gare"), None]), TextColumn::new(&list).unwrap()];
        assert_eq!(run(MatchMode::Words, "musees expositions", &cols, 3), [true, false, false]);
        assert_eq!(run(MatchMode::Words, "gare", &cols, 3), [true, true, false]);
        assert_eq!(run(MatchMode::Words, "theatre", &cols, 3), [false, false, true]);
    }

    #[test]
    fn more_than_64_query_words_are_all_required() {
        let text: String = (0..70).map(|i| format!("w{i} ")).collect();
        let cols = [plain(&[Some(text.as_str()), Some("w1 w2")])];
        assert_eq!(run(MatchMode::Words, &text, &cols, 2), [true, false]);
        let missing_last: String = (0..69).map(|i| format!("w{i} ")).collect();
        let cols = [plain(&[Some(missing_last.as_str())])];
        assert_eq!(run(MatchMode::Words, &text, &cols, 1), [false]);
    }

    #[test]
    fn fuzzy_partial_and_prefix_modes() {
        let cols = [plain(&[Some("THE BOOK OF SECRETS"), Some("Sainte Aurélie"), None])];
        assert_eq!(run(MatchMode::Fuzzy, "bok of secret", &cols, 3), [true, false, false]);
        assert_eq!(run(MatchMode::Fuzzy, "sainte aur", &cols, 3), [false, true, false]);
        assert_eq!(run(MatchMode::Fuzzy, "aur sainte", &cols, 3), [false, false, false]);
        assert_eq!(run(MatchMode::Partial, "RELIE", &cols, 3), [false, true, false]);
        assert_eq!(run(MatchMode::Partial, "ecre oo", &cols, 3), [true, false, false]);
        assert_eq!(run(MatchMode::Prefix, "sainte au", &cols, 3), [false, true, false]);
        assert_eq!(run(MatchMode::Prefix, "", &cols, 3), [true, true, false]);
    }
}
