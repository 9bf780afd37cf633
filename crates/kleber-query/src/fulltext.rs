//! Full-text matching of ODSQL bare strings (`where="vélo"`), as a DataFusion UDF.
//!
//! Text is folded before matching: accents removed (`Vélo` → `velo`, `Hœnheim` → `hoenheim`),
//! lowercased, and split into words on anything that is not a letter or a digit. A query
//! matches a record when every word of the query is a word of one of the record's text fields;
//! a query word ending in `*` matches as a prefix. Stemming (`parkings` finding `Parking`) and
//! fuzzy matching belong to `search()`, planned with the rest of ODSQL's text functions.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

/// One word of a full-text query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct QueryWord {
    text: String,
    prefix: bool,
}

/// Splits a query into folded words; `film*` becomes a prefix word.
pub(crate) fn query_words(query: &str) -> Vec<QueryWord> {
    let mut words = Vec::new();
    for raw in query.split_whitespace() {
        let prefix = raw.ends_with('*');
        let folded = fold(raw);
        for (i, part) in
            folded.split(|c: char| !c.is_ascii_alphanumeric()).filter(|p| !p.is_empty()).enumerate()
        {
            let _ = i;
            words.push(QueryWord { text: part.to_owned(), prefix: false });
        }
        if prefix && let Some(last) = words.last_mut() {
            last.prefix = true;
        }
    }
    words
}

/// Folds text for matching: ASCII transliteration, lowercase.
pub(crate) fn fold(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    deunicode::deunicode(text).to_ascii_lowercase()
}

fn mark_matches(value: &str, words: &[QueryWord], matched: &mut [bool]) {
    let folded = fold(value);
    for token in folded.split(|c: char| !c.is_ascii_alphanumeric()).filter(|t| !t.is_empty()) {
        for (word, hit) in words.iter().zip(matched.iter_mut()) {
            if !*hit && (token == word.text || (word.prefix && token.starts_with(&word.text))) {
                *hit = true;
            }
        }
    }
}

/// `kleber_fulltext(query, text_column, ...)`: true when every word of `query` is found in one
/// of the text columns (plain or multivalued).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct FullTextUdf {
    signature: Signature,
}

impl FullTextUdf {
    pub(crate) fn new() -> Self {
        FullTextUdf { signature: Signature::variadic_any(Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for FullTextUdf {
    fn name(&self) -> &str {
        "kleber_fulltext"
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
                return exec_err!("kleber_fulltext expects a literal query first, got {other:?}");
            }
        };
        let words = query_words(&query);
        let columns: Vec<ArrayRef> =
            iter.map(|c| c.into_array(rows)).collect::<Result<Vec<_>>>()?;
        let mut texts = Vec::with_capacity(columns.len());
        for column in &columns {
            texts.push(TextColumn::new(column)?);
        }
        let mut out = BooleanBuilder::with_capacity(rows);
        let mut matched = vec![false; words.len()];
        for row in 0..rows {
            if words.is_empty() {
                out.append_value(true);
                continue;
            }
            matched.iter_mut().for_each(|m| *m = false);
            for text in &texts {
                text.for_each_value(row, |v| mark_matches(v, &words, &mut matched));
                if matched.iter().all(|m| *m) {
                    break;
                }
            }
            out.append_value(matched.iter().all(|m| *m));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// A text column, plain or multivalued, cast to `Utf8` for uniform access.
enum TextColumn {
    Plain(ArrayRef),
    List(ArrayRef, ArrayRef),
}

impl TextColumn {
    fn new(array: &ArrayRef) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::List(_) => {
                let list = array.as_list::<i32>();
                let values = cast(list.values(), &DataType::Utf8)?;
                TextColumn::List(Arc::clone(array), values)
            }
            _ => TextColumn::Plain(cast(array, &DataType::Utf8)?),
        })
    }

    fn for_each_value(&self, row: usize, mut f: impl FnMut(&str)) {
        match self {
            TextColumn::Plain(a) => {
                let strings = a.as_string::<i32>();
                if strings.is_valid(row) {
                    f(strings.value(row));
                }
            }
            TextColumn::List(list, values) => {
                let list = list.as_list::<i32>();
                if list.is_valid(row) {
                    let strings = values.as_string::<i32>();
                    let offsets = list.value_offsets();
                    for i in offsets[row]..offsets[row + 1] {
                        let i = i as usize;
                        if strings.is_valid(i) {
                            f(strings.value(i));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_and_case_are_folded() {
        let words = query_words("Velo HOENHEIM");
        let mut matched = vec![false; 2];
        mark_matches("Vélo à Hœnheim", &words, &mut matched);
        assert_eq!(matched, vec![true, true]);
    }

    #[test]
    fn words_match_whole_unless_starred() {
        let mut matched = vec![false];
        mark_matches("Parking Gutenberg", &query_words("park"), &mut matched);
        assert_eq!(matched, vec![false]);
        mark_matches("Parking Gutenberg", &query_words("park*"), &mut matched);
        assert_eq!(matched, vec![true]);
    }
}
