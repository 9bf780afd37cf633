//! A generated catalog of any size, deterministic, for the large-catalog
//! test and for `examples/bench_search.rs` (which includes this file).

use kleber_search::CatalogDoc;

/// (title subject, keywords, theme)
const SUBJECTS: &[(&str, &[&str], &str)] = &[
    ("Comptages vélos", &["vélo", "cyclisme", "mobilité"], "Transports"),
    ("Stationnement payant", &["voirie", "tarifs"], "Transports"),
    ("Patrimoine arboré", &["arbres", "nature en ville"], "Environnement"),
    ("Qualité de l'air", &["pollution", "NO2", "PM10"], "Environnement"),
    ("Budget primitif", &["finances", "dépenses"], "Économie"),
    ("Lignes de tramway", &["CTS", "transport en commun"], "Transports"),
    ("Toilettes publiques", &["sanitaires", "accessibilité"], "Équipements"),
    ("Écoles élémentaires", &["éducation", "enfance"], "Éducation"),
    ("Médiathèques", &["lecture", "prêts"], "Culture"),
    ("Piscines", &["natation", "fréquentation"], "Sport"),
    ("Collecte des déchets", &["ordures ménagères", "recyclage"], "Environnement"),
    ("Éclairage public", &["lampadaires", "énergie"], "Équipements"),
    ("Marchés de plein air", &["commerce", "alimentation"], "Économie"),
    ("Bornes de recharge", &["véhicules électriques", "IRVE"], "Transports"),
    ("Aires de jeux", &["enfants", "loisirs"], "Équipements"),
    ("Défibrillateurs", &["santé", "secours"], "Santé"),
];

const PLACES: &[&str] = &[
    "Strasbourg",
    "Schiltigheim",
    "Illkirch-Graffenstaden",
    "Lingolsheim",
    "Bischheim",
    "Hoenheim",
    "Ostwald",
    "Eckbolsheim",
];

/// `n` datasets: subject `i % 16`, place `(i / 16) % 8`, year
/// `2015 + (i / 128) % 10`, ids `ds-00000`...; titles start with the subject.
pub(crate) fn generate(n: usize) -> Vec<CatalogDoc> {
    (0..n)
        .map(|i| {
            let (subject, keywords, theme) = SUBJECTS[i % SUBJECTS.len()];
            let place = PLACES[(i / SUBJECTS.len()) % PLACES.len()];
            let year = 2015 + (i / (SUBJECTS.len() * PLACES.len())) % 10;
            CatalogDoc {
                dataset_id: format!("ds-{i:05}"),
                title: format!("{subject} — {place} {year}"),
                description: Some(format!(
                    "<p>Données « {} » de la commune de <b>{place}</b> pour l&rsquo;année \
                     {year}, publiées au format CSV et GeoJSON.</p><p>Mise à jour annuelle.</p>",
                    subject.to_lowercase()
                )),
                keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
                themes: vec![theme.to_owned()],
                publisher: Some(format!("Ville de {place}")),
            }
        })
        .collect()
}
