//! Opendatasoft-style technical names for fields.

/// Turns a column header into a technical field name: lowercase ASCII letters, digits and
/// underscores, accents folded (`"Capacité de la station"` becomes `capacite_de_la_station`).
///
/// Runs of other characters become one underscore; leading and trailing underscores are
/// trimmed; a name that would start with a digit is prefixed with `f_`, and an empty one
/// becomes `field`. Callers make names unique within a schema.
pub fn technical_name(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    let mut pending_sep = false;
    for c in header.chars() {
        let folded = fold_char(c);
        for f in folded.chars() {
            if f.is_ascii_alphanumeric() {
                if pending_sep && !out.is_empty() {
                    out.push('_');
                }
                pending_sep = false;
                out.push(f.to_ascii_lowercase());
            } else {
                pending_sep = true;
            }
        }
    }
    if out.is_empty() {
        return "field".to_owned();
    }
    if out.as_bytes()[0].is_ascii_digit() {
        out.insert_str(0, "f_");
    }
    out
}

/// Folds the Latin letters met in French, German and other European headers to ASCII.
fn fold_char(c: char) -> &'static str {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'Ç' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ñ' | 'Ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => "o",
        'œ' | 'Œ' => "oe",
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => "u",
        'ý' | 'ÿ' | 'Ý' => "y",
        'ß' => "ss",
        c if c.is_ascii_alphanumeric() => ascii_str(c),
        _ => " ",
    }
}

fn ascii_str(c: char) -> &'static str {
    const TABLE: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let i = TABLE.find(c).unwrap_or(0);
    &TABLE[i..i + 1]
}

#[cfg(test)]
mod tests {
    use super::technical_name;

    #[test]
    fn french_headers_become_technical_names() {
        assert_eq!(technical_name("Capacité de la station"), "capacite_de_la_station");
        assert_eq!(technical_name("Coordonnées géographiques"), "coordonnees_geographiques");
        assert_eq!(technical_name("nom_parking"), "nom_parking");
        assert_eq!(technical_name("Etat_descriptif"), "etat_descriptif");
        assert_eq!(technical_name("  Hœnheim (km²) "), "hoenheim_km");
        assert_eq!(technical_name("2020"), "f_2020");
        assert_eq!(technical_name("***"), "field");
    }
}
