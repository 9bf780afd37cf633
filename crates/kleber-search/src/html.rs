//! Reducing an HTML description to the text a reader sees.
//!
//! Dataset descriptions come from publishers' back offices and often hold
//! HTML (`<p>Comptages v&eacute;los</p>`). Indexing them raw would index tag
//! and attribute names (`href`, `strong`) and split words on entities
//! (`v`, `eacute`, `los`). This is not an HTML parser: it is a forgiving
//! scanner that never fails, which is what an index needs.
//!
//! - Tags are removed. Inline tags (`<b>`, `<em>`, `<a>`, ...) are removed
//!   without a trace so that `<b>V</b>élo` stays one word; every other tag
//!   becomes a space so that `<p>a</p><p>b</p>` stays two words.
//! - Comments, `<script>` and `<style>` are removed with their content.
//! - Character references are decoded: numeric ones (`&#233;`, `&#xE9;`)
//!   and the named ones that occur in French and English text.
//! - A `<` that does not open a tag (`a < b`, or no closing `>`) and an `&`
//!   that does not start a known reference are kept as text.

/// Returns the visible text of `input`, with tags removed and character
/// references decoded. Plain text without `<` or `&` is returned as is.
pub fn strip_html(input: &str) -> String {
    if !input.contains(['<', '&']) {
        return input.to_owned();
    }
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find(['<', '&']) {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        if rest.starts_with('<') {
            match skip_markup(rest) {
                Some((consumed, separator)) => {
                    if separator {
                        out.push(' ');
                    }
                    rest = &rest[consumed..];
                }
                None => {
                    out.push('<');
                    rest = &rest[1..];
                }
            }
        } else {
            match decode_reference(rest) {
                Some((consumed, decoded)) => {
                    out.push(decoded);
                    rest = &rest[consumed..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
    }
    out.push_str(rest);
    out
}

/// Tags removed without leaving a space: they mark up part of a phrase and
/// can sit inside a word.
const INLINE_TAGS: &[&str] = &[
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd",
    "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u",
    "var", "wbr",
];

/// Given `s` starting with `<`, returns how many bytes of markup to skip and
/// whether to leave a word separator in its place, or `None` when the `<`
/// does not open markup and must be kept as text.
fn skip_markup(s: &str) -> Option<(usize, bool)> {
    if let Some(comment) = s.strip_prefix("<!--") {
        let end = comment.find("-->").map_or(s.len(), |e| 4 + e + 3);
        return Some((end, true));
    }
    let after = &s[1..];
    let first = after.chars().next()?;
    if !(first.is_ascii_alphabetic() || matches!(first, '/' | '!' | '?')) {
        return None;
    }
    let close = s.find('>')?;
    let name_start = usize::from(first == '/');
    let name: String = after[name_start..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let mut consumed = close + 1;
    if first != '/' && (name == "script" || name == "style") {
        // Skip the content up to the matching end tag (or to the end).
        let body = &s[consumed..];
        let end_tag = format!("</{name}");
        consumed += match find_ascii_case_insensitive(body, &end_tag) {
            Some(at) => body[at..].find('>').map_or(body.len(), |gt| at + gt + 1),
            None => body.len(),
        };
    }
    let separator = !INLINE_TAGS.contains(&name.as_str());
    Some((consumed, separator))
}

fn find_ascii_case_insensitive(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack.as_bytes().windows(needle.len()).position(|window| window.eq_ignore_ascii_case(needle))
}

/// Given `s` starting with `&`, decodes one character reference and returns
/// its length in bytes and the character.
fn decode_reference(s: &str) -> Option<(usize, char)> {
    // The longest name below is 6 letters; numeric references are short too.
    let semicolon = s[1..].char_indices().take(10).find(|&(_, c)| c == ';')?.0 + 1;
    let body = &s[1..semicolon];
    let decoded = if let Some(number) = body.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse::<u32>().ok()?,
        };
        match char::from_u32(code) {
            Some('\0') | None => '\u{FFFD}',
            Some(c) => c,
        }
    } else {
        named_reference(body)?
    };
    Some((semicolon + 1, decoded))
}

fn named_reference(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" | "rsquo" | "lsquo" => '\'',
        "nbsp" | "ensp" | "emsp" | "thinsp" => ' ',
        "laquo" => '«',
        "raquo" => '»',
        "ldquo" | "rdquo" | "bdquo" => '"',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "middot" | "bull" => '·',
        "euro" => '€',
        "deg" => '°',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "shy" => '\u{AD}',
        "sup2" => '²',
        "sup3" => '³',
        "agrave" => 'à',
        "aacute" => 'á',
        "acirc" => 'â',
        "auml" => 'ä',
        "aelig" => 'æ',
        "ccedil" => 'ç',
        "egrave" => 'è',
        "eacute" => 'é',
        "ecirc" => 'ê',
        "euml" => 'ë',
        "igrave" => 'ì',
        "iacute" => 'í',
        "icirc" => 'î',
        "iuml" => 'ï',
        "ntilde" => 'ñ',
        "ograve" => 'ò',
        "oacute" => 'ó',
        "ocirc" => 'ô',
        "ouml" => 'ö',
        "oelig" => 'œ',
        "ugrave" => 'ù',
        "uacute" => 'ú',
        "ucirc" => 'û',
        "uuml" => 'ü',
        "yuml" => 'ÿ',
        "szlig" => 'ß',
        "Agrave" => 'À',
        "Aacute" => 'Á',
        "Acirc" => 'Â',
        "Auml" => 'Ä',
        "AElig" => 'Æ',
        "Ccedil" => 'Ç',
        "Egrave" => 'È',
        "Eacute" => 'É',
        "Ecirc" => 'Ê',
        "Euml" => 'Ë',
        "Icirc" => 'Î',
        "Iuml" => 'Ï',
        "Ocirc" => 'Ô',
        "Ouml" => 'Ö',
        "OElig" => 'Œ',
        "Ugrave" => 'Ù',
        "Ucirc" => 'Û',
        "Uuml" => 'Ü',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::strip_html;

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(strip_html("Comptages vélos 2024"), "Comptages vélos 2024");
    }

    #[test]
    fn block_tags_separate_words_and_inline_tags_do_not() {
        let text = strip_html("<p>Comptages</p><p>v<b>é</b>los</p><br/>tram");
        let words: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(words, ["Comptages", "vélos", "tram"]);
    }

    #[test]
    fn attributes_comments_scripts_and_styles_are_dropped() {
        let text = strip_html(
            "<a href=\"https://x.invalid/parking\" class='lien'>Lien</a><!-- caché -->\
             <script>var arbre = 1;</script><STYLE>p { color: red }</STYLE> fin",
        );
        let words: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(words, ["Lien", "fin"]);
    }

    #[test]
    fn references_are_decoded() {
        assert_eq!(
            strip_html("v&eacute;los &amp; &#233;lagage &#xE0; l&rsquo;&Eacute;tat&nbsp;!"),
            "vélos & élagage à l'État !"
        );
    }

    #[test]
    fn stray_markup_characters_are_text() {
        assert_eq!(strip_html("a < b & c <3 &bogus; &"), "a < b & c <3 &bogus; &");
        assert_eq!(strip_html("x <unclosed"), "x <unclosed");
        assert_eq!(strip_html("<!-- never closed"), " ");
        assert_eq!(strip_html("&#99999999999;&#0;"), "&#99999999999;\u{FFFD}");
        assert_eq!(strip_html("<script>never closed"), " ");
        assert_eq!(strip_html("é&é<é>é"), "é&é<é>é");
    }
}
