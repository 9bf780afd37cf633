//! The portal's settings, set by portal admins: the themes offered to publishers (an id and
//! labels in French and English), the home page's text and featured datasets, and the about
//! page. One use case per setting, used by the admin pages (`/admin/portal/...`) and by the
//! management API (`/api/management/v1/portal/...`) alike; each change is checked here,
//! stored in the catalog (`kleber_store::portal`) and audited there (`portal.<key>`).
//!
//! A theme's `id` is the value datasets keep in their `theme` metadata (Opendatasoft keeps
//! the theme's name there, e.g. `Mobilité`): changing a theme's labels renames it everywhere
//! at once, its id never changes, and a theme some dataset still lists cannot be removed.
//! Texts are Markdown, rendered and sanitised like dataset descriptions
//! ([`crate::manage::render_markdown`]) when shown. Featured datasets must be public when
//! chosen; one that becomes private later drops out of the home page of those who may not
//! read it ([`App::featured`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use kleber_store::{Store, Visibility};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::manage::{Editor, MAX_TEXT, render_markdown};
use crate::{App, Error};

/// Most themes a portal offers.
pub const MAX_THEMES: usize = 100;
/// Most featured datasets on the home page.
pub const MAX_FEATURED: usize = 12;
/// Longest theme id or label, in characters.
pub const MAX_LABEL: usize = 100;
/// Longest theme description, in characters.
pub const MAX_THEME_DESCRIPTION: usize = 1_000;

/// A theme offered to publishers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    /// What datasets list in their `theme` metadata (never changes).
    pub id: String,
    /// The label shown to French readers.
    pub label_fr: String,
    /// The label shown to English readers.
    pub label_en: String,
    /// What it covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Theme {
    /// The label in language `lang` (`fr` or `en`).
    pub fn label(&self, lang: &str) -> &str {
        if lang == "en" { &self.label_en } else { &self.label_fr }
    }
}

/// The themes of the portal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Themes {
    /// In the order they are offered.
    pub themes: Vec<Theme>,
}

impl Themes {
    /// The label of theme `id` in `lang`, or `id` itself when it is no theme of the list.
    pub fn label<'a>(&'a self, id: &'a str, lang: &str) -> &'a str {
        self.themes.iter().find(|t| t.id == id).map_or(id, |t| t.label(lang))
    }
}

/// A page's text in both languages, in Markdown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalText {
    /// The French text.
    #[serde(default)]
    pub text_fr: String,
    /// The English text.
    #[serde(default)]
    pub text_en: String,
}

impl PortalText {
    /// The Markdown for `lang`, falling back on the other language's when empty; `None` when
    /// both are empty.
    pub fn markdown(&self, lang: &str) -> Option<&str> {
        let (first, other) = if lang == "en" {
            (&self.text_en, &self.text_fr)
        } else {
            (&self.text_fr, &self.text_en)
        };
        [first, other].into_iter().map(|t| t.trim()).find(|t| !t.is_empty())
    }

    /// The sanitised HTML for `lang` (see [`PortalText::markdown`]).
    pub fn html(&self, lang: &str) -> Option<String> {
        self.markdown(lang).map(render_markdown)
    }

    /// The text as the API answers it: the Markdown and its sanitised HTML in each language.
    pub fn to_json(&self) -> Value {
        let html = |t: &str| (!t.trim().is_empty()).then(|| render_markdown(t));
        json!({
            "text_fr": self.text_fr,
            "text_en": self.text_en,
            "html_fr": html(&self.text_fr),
            "html_en": html(&self.text_en),
        })
    }
}

/// The home page's featured datasets, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Featured {
    /// Dataset identifiers.
    pub datasets: Vec<String>,
}

/// The settings' keys.
const THEMES: &str = "themes";
const HOME: &str = "home";
const ABOUT: &str = "about";
const FEATURED: &str = "featured";

/// A request body as the type `T` of a setting, with the management API's error.
pub fn parse_body<T: serde::de::DeserializeOwned>(what: &str, body: &Value) -> Result<T, Error> {
    serde_json::from_value(body.clone())
        .map_err(|e| Error::InvalidBody(format!("Invalid {what}: {e}. Nothing was changed.")))
}

fn read<T: serde::de::DeserializeOwned + Default>(store: &Store, key: &str) -> Result<T, Error> {
    match store.catalog().portal_setting(key)? {
        None => Ok(T::default()),
        Some(value) => serde_json::from_value(value)
            .map_err(|e| Error::internal(format!("portal setting {key} is not readable: {e}"))),
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn check_themes(themes: &mut Themes) -> Result<(), Error> {
    let bad = |m: String| Err(Error::InvalidBody(format!("{m} Nothing was changed.")));
    if themes.themes.len() > MAX_THEMES {
        return bad(format!(
            "{} themes were given but at most {MAX_THEMES} are allowed.",
            themes.themes.len()
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, t) in themes.themes.iter_mut().enumerate() {
        t.id = t.id.trim().to_owned();
        t.label_fr = t.label_fr.trim().to_owned();
        t.label_en = t.label_en.trim().to_owned();
        t.description = t.description.take().map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
        let n = i + 1;
        if t.id.is_empty() {
            return bad(format!("Theme {n} has an empty id."));
        }
        if t.id.chars().any(char::is_control) {
            return bad(format!("Theme {n}: the id {:?} holds a control character.", t.id));
        }
        if !seen.insert(t.id.to_lowercase()) {
            return bad(format!("Theme id {:?} is given twice.", t.id));
        }
        if t.label_fr.is_empty() || t.label_en.is_empty() {
            return bad(format!(
                "Theme {:?} needs a label in French (label_fr) and in English (label_en).",
                t.id
            ));
        }
        for (name, value) in [("id", &t.id), ("label_fr", &t.label_fr), ("label_en", &t.label_en)] {
            if chars(value) > MAX_LABEL {
                return bad(format!(
                    "Theme {:?}: {name} is {} characters long, at most {MAX_LABEL} are allowed.",
                    t.id,
                    chars(value)
                ));
            }
        }
        if t.description.as_deref().is_some_and(|d| chars(d) > MAX_THEME_DESCRIPTION) {
            return bad(format!(
                "Theme {:?}: the description is longer than {MAX_THEME_DESCRIPTION} characters.",
                t.id
            ));
        }
    }
    Ok(())
}

fn check_text(what: &str, text: &mut PortalText) -> Result<(), Error> {
    for (lang, t) in [("text_fr", &mut text.text_fr), ("text_en", &mut text.text_en)] {
        *t = t.trim().to_owned();
        if chars(t) > MAX_TEXT {
            return Err(Error::InvalidBody(format!(
                "The {what} {lang} is {} characters long; at most {MAX_TEXT} are allowed. \
                 Nothing was changed.",
                chars(t)
            )));
        }
    }
    Ok(())
}

impl App {
    fn check_portal(editor: &Editor, what: &str) -> Result<(), Error> {
        if crate::policy::may_admin_portal(editor.principal()) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "Only portal admins (with the admin scope, for a key) {what}."
            )))
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&store)).await.map_err(Error::internal)?
    }

    /// The portal's themes (anyone: pages show their labels).
    pub async fn portal_themes(&self) -> Result<Themes, Error> {
        self.blocking(|s| read(s, THEMES)).await
    }

    /// The home page's text (anyone).
    pub async fn portal_home(&self) -> Result<PortalText, Error> {
        self.blocking(|s| read(s, HOME)).await
    }

    /// The about page's text (anyone; empty: the portal's own text is shown).
    pub async fn portal_about(&self) -> Result<PortalText, Error> {
        self.blocking(|s| read(s, ABOUT)).await
    }

    /// The featured datasets as set, for portal admins (the management API and admin pages
    /// show them all, whoever may read them now).
    pub async fn portal_featured(&self, editor: &Editor) -> Result<Featured, Error> {
        App::check_portal(editor, "read the featured datasets")?;
        self.blocking(|s| read(s, FEATURED)).await
    }

    /// The settings of the portal for portal admins (refused to anyone else).
    pub async fn check_portal_admin_of(&self, editor: &Editor) -> Result<(), Error> {
        App::check_portal(editor, "administer the portal")
    }

    /// Replaces the themes. A theme removed while a dataset still lists it is refused
    /// (`Conflict`, naming it and how many datasets list it). Labels and descriptions may
    /// change freely: datasets keep the id.
    pub async fn set_portal_themes(
        &self,
        editor: &Editor,
        mut themes: Themes,
    ) -> Result<Themes, Error> {
        App::check_portal(editor, "change the themes")?;
        check_themes(&mut themes)?;
        let actor = editor.actor().clone();
        self.blocking(move |store| {
            let before: Themes = read(store, THEMES)?;
            let kept: BTreeSet<&str> = themes.themes.iter().map(|t| t.id.as_str()).collect();
            let removed: Vec<&Theme> =
                before.themes.iter().filter(|t| !kept.contains(t.id.as_str())).collect();
            for theme in &removed {
                let n = store.catalog().datasets_with_theme(&theme.id)?;
                if n > 0 {
                    return Err(Error::Conflict(format!(
                        "Theme {:?} is listed by {n} dataset{}: remove it from their metadata \
                         first (its labels can be changed without that). Nothing was changed.",
                        theme.id,
                        if n == 1 { "" } else { "s" }
                    )));
                }
            }
            let value = serde_json::to_value(&themes).map_err(Error::internal)?;
            let details = json!({
                "themes": themes.themes.iter().map(|t| &t.id).collect::<Vec<_>>(),
                "removed": removed.iter().map(|t| &t.id).collect::<Vec<_>>(),
            });
            store.catalog().set_portal_setting(&actor, THEMES, &value, details)?;
            Ok(themes)
        })
        .await
    }

    /// Replaces the home page's text.
    pub async fn set_portal_home(
        &self,
        editor: &Editor,
        text: PortalText,
    ) -> Result<PortalText, Error> {
        self.set_text(editor, HOME, "home page text", text).await
    }

    /// Replaces the about page's text (both empty: the portal's own text again).
    pub async fn set_portal_about(
        &self,
        editor: &Editor,
        text: PortalText,
    ) -> Result<PortalText, Error> {
        self.set_text(editor, ABOUT, "about page text", text).await
    }

    async fn set_text(
        &self,
        editor: &Editor,
        key: &'static str,
        what: &'static str,
        mut text: PortalText,
    ) -> Result<PortalText, Error> {
        App::check_portal(editor, &format!("change the {what}"))?;
        check_text(what, &mut text)?;
        let actor = editor.actor().clone();
        self.blocking(move |store| {
            let value = serde_json::to_value(&text).map_err(Error::internal)?;
            let details =
                json!({"fr_chars": chars(&text.text_fr), "en_chars": chars(&text.text_en)});
            store.catalog().set_portal_setting(&actor, key, &value, details)?;
            Ok(text)
        })
        .await
    }

    /// Replaces the featured datasets: each must be a published, public dataset, named once.
    pub async fn set_portal_featured(
        &self,
        editor: &Editor,
        mut featured: Featured,
    ) -> Result<Featured, Error> {
        App::check_portal(editor, "change the featured datasets")?;
        for id in &mut featured.datasets {
            *id = id.trim().to_owned();
        }
        featured.datasets.retain(|id| !id.is_empty());
        if featured.datasets.len() > MAX_FEATURED {
            return Err(Error::InvalidBody(format!(
                "{} featured datasets were given but at most {MAX_FEATURED} are allowed. \
                 Nothing was changed.",
                featured.datasets.len()
            )));
        }
        let actor = editor.actor().clone();
        self.blocking(move |store| {
            let mut seen = BTreeSet::new();
            for id in &featured.datasets {
                if !seen.insert(id.as_str()) {
                    return Err(Error::InvalidBody(format!(
                        "Dataset {id:?} is featured twice. Nothing was changed."
                    )));
                }
                match store.get_dataset(id)? {
                    None => {
                        return Err(Error::InvalidBody(format!(
                            "No published dataset has the identifier {id:?}. Nothing was changed."
                        )));
                    }
                    Some(record) if record.visibility != Visibility::Public => {
                        return Err(Error::InvalidBody(format!(
                            "Dataset {id:?} is not public ({}): only public datasets can be \
                             featured. Nothing was changed.",
                            record.visibility.as_str()
                        )));
                    }
                    Some(_) => {}
                }
            }
            let value = serde_json::to_value(&featured).map_err(Error::internal)?;
            let details = json!({"datasets": featured.datasets});
            store.catalog().set_portal_setting(&actor, FEATURED, &value, details)?;
            Ok(featured)
        })
        .await
    }

    /// The featured datasets the caller of catalog view `view` may read now, in order (a
    /// dataset made private since drops out for outsiders).
    pub async fn featured(
        &self,
        view: &crate::CatalogView,
    ) -> Result<Vec<kleber_store::DatasetRecord>, Error> {
        let featured: Featured = self.blocking(|s| read(s, FEATURED)).await?;
        Ok(featured.datasets.iter().filter_map(|id| view.record(id)).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theme(id: &str) -> Theme {
        Theme {
            id: id.to_owned(),
            label_fr: format!("{id} fr"),
            label_en: format!("{id} en"),
            description: None,
        }
    }

    #[test]
    fn themes_are_checked_and_trimmed() {
        let mut ok = Themes { themes: vec![theme(" Mobilité "), theme("Culture")] };
        check_themes(&mut ok).unwrap();
        assert_eq!(ok.themes[0].id, "Mobilité");
        assert_eq!(ok.label("Culture", "en"), "Culture en");
        assert_eq!(ok.label("Inconnu", "en"), "Inconnu");
        let mut twice = Themes { themes: vec![theme("a"), theme("A")] };
        assert!(check_themes(&mut twice).unwrap_err().to_string().contains("twice"));
        let mut unlabelled =
            Themes { themes: vec![Theme { label_en: " ".to_owned(), ..theme("a") }] };
        assert!(check_themes(&mut unlabelled).unwrap_err().to_string().contains("label_en"));
    }

    #[test]
    fn texts_fall_back_on_the_other_language_and_are_sanitised() {
        let text = PortalText {
            text_fr: "Bonjour <script>alert(1)</script>".to_owned(),
            text_en: String::new(),
        };
        let html = text.html("en").unwrap();
        assert!(html.contains("Bonjour") && !html.contains("<script"), "{html}");
        assert_eq!(PortalText::default().html("fr"), None);
    }
}
