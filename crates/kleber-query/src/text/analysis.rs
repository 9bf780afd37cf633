//! Text analysis shared by full-text matching (bare strings, `LIKE`) and the text functions
//! (`search()`, `suggest()`, `startswith()`).
//!
//! - **Folding**: letters and digits are transliterated to ASCII and lowercased (`Vélo` →
//!   `velo`, `Hœnheim` → `hoenheim`, `Straße` → `strasse`); combining accents vanish, typographic
//!   apostrophes become `'`, and other non-ASCII symbols become spaces.
//! - **Words**: folded text is split on anything that is not an ASCII letter or digit
//!   (`Vélo-station` → `velo`, `station`). French elided articles are dropped (`l'église` →
//!   `eglise`, likewise `d'`, `j'`, `m'`, `n'`, `s'`, `t'`, `c'`, `qu'`, `jusqu'`, `lorsqu'`,
//!   `puisqu'`, `quoiqu'`).
//! - **Stems**: each folded word has a French and an English Snowball stem. Two words are the
//!   same word when they are equal, when their French stems are equal, or when their English
//!   stems are equal (`parkings`/`parking` by either, `gares`/`gare` by French, `vélos`/`vélo`
//!   by English). Stemming is done on folded words so that a query typed without accents stems
//!   like the accented record text.
//! - **Edits**: `search()` also accepts a word within a small number of edits (insertions,
//!   deletions, substitutions, and swaps of two adjacent letters, as Elasticsearch counts them).

use std::borrow::Cow;

use rust_stemmers::{Algorithm, Stemmer};

/// The folded form of one non-ASCII character: its transliteration when it is a letter or a
/// digit (`é` → `e`, `œ` → `oe`), nothing for a combining accent, `'` for a typographic
/// apostrophe, and a space for any other symbol (so that `n°3` or `10€` stay apart).
fn fold_non_ascii(ch: char) -> &'static str {
    match deunicode::deunicode_char(ch) {
        Some(ascii) if ch.is_alphanumeric() || ascii.is_empty() || ascii == "'" => ascii,
        _ => " ",
    }
}

/// Appends the folded form of `text` to `out`: ASCII transliteration, lowercase.
pub(crate) fn fold_into(text: &str, out: &mut String) {
    if text.is_ascii() {
        let start = out.len();
        out.push_str(text);
        out[start..].make_ascii_lowercase();
        return;
    }
    out.reserve(text.len());
    for ch in text.chars() {
        if ch.is_ascii() {
            out.push(ch.to_ascii_lowercase());
        } else {
            out.extend(fold_non_ascii(ch).chars().map(|c| c.to_ascii_lowercase()));
        }
    }
}

/// The folded form of `text`.
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

/// Whether the folded form of `value` starts with `prefix`, itself folded. Folds only as much
/// of `value` as needed, without allocating.
pub(crate) fn folded_starts_with(value: &str, prefix: &str) -> bool {
    let wanted = prefix.as_bytes();
    if wanted.is_empty() {
        return true;
    }
    let mut at = 0;
    let mut one = [0u8; 4];
    for ch in value.chars() {
        let piece: &[u8] = if ch.is_ascii() {
            ch.encode_utf8(&mut one).as_bytes()
        } else {
            fold_non_ascii(ch).as_bytes()
        };
        for b in piece {
            if b.to_ascii_lowercase() != wanted[at] {
                return false;
            }
            at += 1;
            if at == wanted.len() {
                return true;
            }
        }
    }
    false
}

/// French articles and conjunctions that elide before a vowel (`l'`, `qu'`...).
const ELISIONS: &[&str] =
    &["l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu"];

/// The words of folded text (see the module documentation).
pub(crate) fn words(folded: &str) -> Words<'_> {
    Words { text: folded, pos: 0 }
}

/// Iterator over the words of folded text.
pub(crate) struct Words<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        loop {
            while self.pos < bytes.len() && !bytes[self.pos].is_ascii_alphanumeric() {
                self.pos += 1;
            }
            if self.pos >= bytes.len() {
                return None;
            }
            let start = self.pos;
            while self.pos < bytes.len() && bytes[self.pos].is_ascii_alphanumeric() {
                self.pos += 1;
            }
            // Only ASCII bytes delimit words, so both ends are character boundaries.
            let word = &self.text[start..self.pos];
            let elided = bytes.get(self.pos) == Some(&b'\'')
                && bytes.get(self.pos + 1).is_some_and(u8::is_ascii_alphanumeric)
                && ELISIONS.contains(&word);
            if !elided {
                return Some(word);
            }
        }
    }
}

/// One analysed word of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    /// The folded word.
    pub(crate) text: String,
    /// Written with a trailing `*` (or `%`): matches words starting with `text`.
    pub(crate) prefix: bool,
    /// French stem of `text`.
    pub(crate) fr: String,
    /// English stem of `text`.
    pub(crate) en: String,
    /// Edits `search()` tolerates for this word: 0 up to 2 letters, 1 up to 5, else 2.
    pub(crate) max_edits: usize,
}

/// The stemmers, created once per batch.
pub(crate) struct Analyzer {
    fr: Stemmer,
    en: Stemmer,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer { fr: Stemmer::create(Algorithm::French), en: Stemmer::create(Algorithm::English) }
    }
}

impl Analyzer {
    /// The French and English stems of a folded word.
    pub(crate) fn stems<'w>(&self, word: &'w str) -> (Cow<'w, str>, Cow<'w, str>) {
        (self.fr.stem(word), self.en.stem(word))
    }

    /// Whether two folded words are the same word (equal, or either stem equal).
    #[cfg(test)]
    pub(crate) fn same_word(&self, a: &str, b: &str) -> bool {
        let (a_fr, a_en) = self.stems(a);
        let (b_fr, b_en) = self.stems(b);
        a == b || a_fr == b_fr || a_en == b_en
    }

    /// Splits a query into analysed words. A word written with a trailing `*` or `%`
    /// (`gar*`) becomes a prefix; other punctuation separates words (`vélo-station` is two
    /// words).
    pub(crate) fn terms(&self, query: &str) -> Vec<Term> {
        let mut terms = Vec::new();
        let mut folded = String::new();
        for raw in query.split_whitespace() {
            let prefix = raw.ends_with(['*', '%']);
            folded.clear();
            fold_into(raw, &mut folded);
            let first = terms.len();
            for word in words(&folded) {
                let (fr, en) = self.stems(word);
                terms.push(Term {
                    text: word.to_owned(),
                    prefix: false,
                    fr: fr.into_owned(),
                    en: en.into_owned(),
                    max_edits: match word.len() {
                        0..=2 => 0,
                        3..=5 => 1,
                        _ => 2,
                    },
                });
            }
            if prefix
                && terms.len() > first
                && let Some(last) = terms.last_mut()
            {
                last.prefix = true;
            }
        }
        terms
    }
}

/// Whether `a` becomes `b` with at most `max` edits: insertions, deletions, substitutions and
/// transpositions of adjacent letters (optimal string alignment distance).
pub(crate) fn within_edits(a: &str, b: &str, max: usize) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    if max == 0 || a == b {
        return a == b;
    }
    let n = b.len();
    let mut before: Vec<usize> = vec![0; n + 1];
    let mut previous: Vec<usize> = (0..=n).collect();
    let mut current: Vec<usize> = vec![0; n + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=n {
            let substitution = previous[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let mut d = substitution.min(previous[j] + 1).min(current[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[n] <= max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_removes_accents_and_case() {
        assert_eq!(fold("Vélo-Station"), "velo-station");
        assert_eq!(fold("Hœnheim"), "hoenheim");
        assert_eq!(fold("ÉGLISE Saint-Étienne"), "eglise saint-etienne");
        assert_eq!(fold("Straße"), "strasse");
        let mut buf = String::from("x ");
        fold_into("PARKING", &mut buf);
        assert_eq!(buf, "x parking");
    }

    #[test]
    fn words_split_on_punctuation_and_drop_elisions() {
        let folded = fold("L’église d'Hœnheim, Vélo-station (n°3, 10€) aujourd'hui Ve\u{301}lo");
        let got: Vec<_> = words(&folded).collect();
        assert_eq!(
            got,
            ["eglise", "hoenheim", "velo", "station", "n", "3", "10", "aujourd", "hui", "velo"],
            "{folded}"
        );
        assert_eq!(words("  --  ").count(), 0);
    }

    #[test]
    fn plurals_and_inflections_stem_alike() {
        let a = Analyzer::default();
        for (x, y) in [
            ("parkings", "parking"),
            ("velos", "velo"),
            ("gares", "gare"),
            ("stations", "station"),
            ("chevaux", "cheval"),
            ("expositions", "exposition"),
            ("culturelles", "culturel"),
            ("theatres", "theatre"),
            ("evenements", "evenement"),
        ] {
            assert!(a.same_word(x, y), "{x} / {y}");
        }
        assert!(a.same_word(&fold("Vélos"), &fold("vélo")));
        assert!(!a.same_word("gare", "garage"));
        assert!(!a.same_word("velo", "vent"));
    }

    #[test]
    fn query_terms_carry_prefixes_and_edit_budgets() {
        let a = Analyzer::default();
        let terms = a.terms("Gar* l'Église  de-Hœnheim parc%");
        let summary: Vec<_> =
            terms.iter().map(|t| (t.text.as_str(), t.prefix, t.max_edits)).collect();
        assert_eq!(
            summary,
            [
                ("gar", true, 1),
                ("eglise", false, 2),
                ("de", false, 0),
                ("hoenheim", false, 2),
                ("parc", true, 1),
            ]
        );
        assert_eq!(terms[1].fr, "eglis");
        assert!(a.terms(" * - ").is_empty());
    }

    #[test]
    fn edit_distance_is_bounded() {
        assert!(within_edits("parkng", "parking", 1));
        assert!(within_edits("bok", "book", 1));
        assert!(within_edits("parkign", "parking", 1), "a swap is one edit");
        assert!(within_edits("gutenbrg", "gutenberg", 2));
        assert!(!within_edits("gutnbrg", "gutenberg", 1));
        assert!(!within_edits("gare", "gars", 0));
        assert!(within_edits("gare", "gare", 0));
        assert!(!within_edits("velo", "vent", 1));
        assert!(within_edits("", "ab", 2));
        assert!(!within_edits("abc", "", 2));
    }

    #[test]
    fn starts_with_folds_lazily() {
        assert!(folded_starts_with("Hœnheim Gare", "hoen"));
        assert!(folded_starts_with("Hœnheim Gare", "hoenheim g"));
        assert!(folded_starts_with("ÉCOLE", "ecole"));
        assert!(folded_starts_with("x", ""));
        assert!(!folded_starts_with("Hœnheim", "hoenheim gare"));
        assert!(!folded_starts_with("Parking", "arking"));
    }
}
