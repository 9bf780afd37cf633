//! Text analysis: the three analyzers of the index and the reading of a
//! user's query into words.

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer, TokenizerManager,
};

/// French analyzer: words, lowercased, accents folded, French Snowball stem.
pub(crate) const FRENCH: &str = "kleber_fr";
/// English analyzer: the same, with the English (Porter 2) stemmer.
pub(crate) const ENGLISH: &str = "kleber_en";
/// Folded analyzer: the same without stemming, for prefix and fuzzy matching.
pub(crate) const FOLDED: &str = "kleber_folded";

/// Tokens of this many bytes or more (before folding) are dropped: they are
/// identifiers, hashes or URLs glued together, never words someone types.
const MAX_TOKEN_BYTES: usize = 40;

/// At most this many distinct words of a query are used; the rest is ignored
/// (a pasted page of text would otherwise cost one clause per word).
pub(crate) const MAX_QUERY_WORDS: usize = 32;

fn analyzer(stem: Option<Language>) -> TextAnalyzer {
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter);
    match stem {
        Some(language) => builder.filter(Stemmer::new(language)).build(),
        None => builder.build(),
    }
}

/// The analyzers of the index, by role.
#[derive(Clone)]
pub(crate) struct Analyzers {
    pub(crate) french: TextAnalyzer,
    pub(crate) english: TextAnalyzer,
    pub(crate) folded: TextAnalyzer,
}

impl Analyzers {
    pub(crate) fn new() -> Self {
        Analyzers {
            french: analyzer(Some(Language::French)),
            english: analyzer(Some(Language::English)),
            folded: analyzer(None),
        }
    }

    /// Registers the analyzers under the names the schema refers to.
    pub(crate) fn register(&self, manager: &TokenizerManager) {
        manager.register(FRENCH, self.french.clone());
        manager.register(ENGLISH, self.english.clone());
        manager.register(FOLDED, self.folded.clone());
    }

    /// Reads a query typed by a user into words. Never fails: anything that
    /// is not a letter or a digit separates words, so quotes, parentheses,
    /// `:`, `-`, `+` and the like carry no meaning; `AND`, `OR` and `NOT`
    /// are words like any other. A `*` right after a word makes it a prefix.
    pub(crate) fn query_words(&self, query: &str) -> Vec<QueryWord> {
        let mut folded = self.folded.clone();
        let mut french = self.french.clone();
        let mut english = self.english.clone();
        let mut words: Vec<QueryWord> = Vec::new();
        let mut stream = folded.token_stream(query);
        while let Some(token) = stream.next() {
            if words.len() == MAX_QUERY_WORDS {
                break;
            }
            let raw = &query[token.offset_from..token.offset_to];
            let prefix = query[token.offset_to..].starts_with('*');
            let word = QueryWord {
                french: first_token(&mut french, raw),
                english: first_token(&mut english, raw),
                stop_word: !prefix && is_stop_word(&token.text),
                folded: token.text.clone(),
                prefix,
            };
            let seen = words.iter().any(|w| w.folded == word.folded && w.prefix == word.prefix);
            if !seen {
                words.push(word);
            }
        }
        words
    }
}

/// The single token the analyzer makes of one word (the word is a token of
/// the same base tokenizer, so it stays one token).
fn first_token(analyzer: &mut TextAnalyzer, word: &str) -> Option<String> {
    let mut stream = analyzer.token_stream(word);
    stream.next().map(|token| token.text.clone())
}

/// One word of a query, as each analyzer sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueryWord {
    /// Lowercased and folded, not stemmed.
    pub(crate) folded: String,
    /// French stem of the folded word.
    pub(crate) french: Option<String>,
    /// English stem of the folded word.
    pub(crate) english: Option<String>,
    /// The word was followed by `*`: match any word starting with `folded`.
    pub(crate) prefix: bool,
    /// A French or English function word (`de`, `la`, `the`, `of`...).
    pub(crate) stop_word: bool,
}

/// Function words, folded. In a query they are optional (they only add to
/// the score), so that "qualité de l'air" or "trees of the city" do not
/// require a `de`, an `l` or an `of` in the matching datasets. Kept short on
/// purpose: only words that carry no meaning of their own in a search box.
const STOP_WORDS: &[&str] = &[
    // French (elided forms included: l', d', qu' are split off by the tokenizer)
    "a", "au", "aux", "avec", "c", "ce", "ces", "cette", "d", "dans", "de", "des", "du", "en", "et",
    "j", "l", "la", "le", "les", "n", "ou", "par", "pour", "qu", "que", "qui", "s", "sur", "un",
    "une", "y", // English
    "an", "and", "are", "as", "at", "by", "for", "from", "in", "is", "it", "its", "of", "on", "or",
    "that", "the", "this", "to", "with",
];

fn is_stop_word(folded: &str) -> bool {
    STOP_WORDS.contains(&folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        out
    }

    #[test]
    fn french_and_english_stems_agree_on_accents_and_plurals() {
        let mut a = Analyzers::new();
        // French Snowball keeps the s after an o ("velos"): English strips it.
        assert_eq!(analyze(&mut a.english, "Vélos"), analyze(&mut a.english, "velo"));
        assert_eq!(analyze(&mut a.french, "vélo"), ["velo"]);
        assert_eq!(analyze(&mut a.french, "Comptages"), analyze(&mut a.french, "comptage"));
        assert_eq!(analyze(&mut a.french, "PARKINGS"), analyze(&mut a.french, "Parking"));
        assert_eq!(analyze(&mut a.english, "trees"), analyze(&mut a.english, "Tree"));
        assert_eq!(analyze(&mut a.folded, "Élagage"), ["elagage"]);
    }

    #[test]
    fn query_words_ignore_syntax_and_detect_prefixes() {
        let a = Analyzers::new();
        let words = a.query_words(r#"  "tram* (Vélo) -x:zz AND de tram* * "#);
        let summary: Vec<(&str, bool, bool)> =
            words.iter().map(|w| (w.folded.as_str(), w.prefix, w.stop_word)).collect();
        assert_eq!(
            summary,
            [
                ("tram", true, false),
                ("velo", false, false),
                ("x", false, false),
                ("zz", false, false),
                ("and", false, true),
                ("de", false, true),
            ]
        );
        assert!(a.query_words(" * : \"' () ").is_empty());
    }

    #[test]
    fn query_words_are_capped() {
        let a = Analyzers::new();
        let text: String = (0..1000).map(|i| format!("mot{i} ")).collect();
        assert_eq!(a.query_words(&text).len(), MAX_QUERY_WORDS);
    }
}
