//! The portal administration pages (`/admin/portal/...`: themes, home page, about page):
//! their view models and messages in both languages.

use askama::Template;

use crate::Lang;
use crate::admin::{AdminMessages, Notice};
use crate::view::Layout;

/// Messages of the portal administration pages.
#[derive(Debug)]
pub struct PortalMessages {
    /// Index heading.
    pub heading: &'static str,
    /// Index introduction.
    pub intro: &'static str,
    /// Link and heading: themes.
    pub themes_heading: &'static str,
    /// Themes introduction.
    pub themes_intro: &'static str,
    /// Link and heading: home page.
    pub home_heading: &'static str,
    /// Home introduction.
    pub home_intro: &'static str,
    /// Link and heading: about page.
    pub about_heading: &'static str,
    /// About introduction.
    pub about_intro: &'static str,
    /// Themes table caption.
    pub themes_caption: &'static str,
    /// Column: id.
    pub col_id: &'static str,
    /// Column: French label.
    pub col_label_fr: &'static str,
    /// Column: English label.
    pub col_label_en: &'static str,
    /// Column: description.
    pub col_description: &'static str,
    /// Column: remove.
    pub col_remove: &'static str,
    /// No theme yet.
    pub no_themes: &'static str,
    /// New theme legend.
    pub new_theme: &'static str,
    /// Hint under the new theme's id.
    pub new_theme_hint: &'static str,
    /// Save button.
    pub save: &'static str,
    /// French text label.
    pub text_fr: &'static str,
    /// English text label.
    pub text_en: &'static str,
    /// Markdown hint.
    pub markdown_hint: &'static str,
    /// Featured datasets label.
    pub featured: &'static str,
    /// Featured hint.
    pub featured_hint: &'static str,
    /// Featured list caption.
    pub featured_now: &'static str,
    /// No featured dataset.
    pub no_featured: &'static str,
    /// Preview heading.
    pub preview: &'static str,
}

static PORTAL_FR: PortalMessages = PortalMessages {
    heading: "Administration du portail",
    intro: "Les thèmes proposés aux producteurs, le texte et les jeux de données à la une de la page d'accueil, la page « À propos ». Chaque modification est inscrite au journal d'audit.",
    themes_heading: "Thèmes",
    themes_intro: "L'identifiant est la valeur que gardent les jeux de données ; les libellés sont ce que voient les visiteurs, en français et en anglais. Un thème encore utilisé par un jeu de données ne peut pas être supprimé.",
    home_heading: "Page d'accueil",
    home_intro: "Un texte de présentation (Markdown) et les jeux de données mis à la une, affichés en cartes. Seuls des jeux de données publics peuvent être mis à la une.",
    about_heading: "Page « À propos »",
    about_intro: "Le texte de la page « À propos » (Markdown). Vide, la page montre le texte d'origine du portail.",
    themes_caption: "Thèmes proposés aux producteurs",
    col_id: "Identifiant",
    col_label_fr: "Libellé (français)",
    col_label_en: "Libellé (anglais)",
    col_description: "Description",
    col_remove: "Supprimer",
    no_themes: "Aucun thème n'est encore défini.",
    new_theme: "Nouveau thème",
    new_theme_hint: "Laissez vide pour n'ajouter aucun thème. Il ne pourra plus être changé.",
    save: "Enregistrer",
    text_fr: "Texte en français (Markdown)",
    text_en: "Texte en anglais (Markdown)",
    markdown_hint: "Titres, listes, liens, emphase et tableaux en Markdown ; le HTML brut et les scripts sont retirés.",
    featured: "Jeux de données à la une",
    featured_hint: "Un identifiant de jeu de données public par ligne, dans l'ordre d'affichage (12 au plus).",
    featured_now: "À la une actuellement",
    no_featured: "Aucun jeu de données à la une.",
    preview: "Aperçu",
};

static PORTAL_EN: PortalMessages = PortalMessages {
    heading: "Portal administration",
    intro: "The themes offered to publishers, the home page's text and featured datasets, the about page. Every change is recorded in the audit log.",
    themes_heading: "Themes",
    themes_intro: "The id is the value datasets keep; the labels are what visitors read, in French and in English. A theme a dataset still uses cannot be removed.",
    home_heading: "Home page",
    home_intro: "An introduction (Markdown) and the featured datasets, shown as cards. Only public datasets can be featured.",
    about_heading: "About page",
    about_intro: "The text of the about page (Markdown). When empty, the page shows the portal's own text.",
    themes_caption: "Themes offered to publishers",
    col_id: "Id",
    col_label_fr: "Label (French)",
    col_label_en: "Label (English)",
    col_description: "Description",
    col_remove: "Remove",
    no_themes: "No theme is defined yet.",
    new_theme: "New theme",
    new_theme_hint: "Leave empty to add no theme. It cannot be changed later.",
    save: "Save",
    text_fr: "French text (Markdown)",
    text_en: "English text (Markdown)",
    markdown_hint: "Headings, lists, links, emphasis and tables in Markdown; raw HTML and scripts are removed.",
    featured: "Featured datasets",
    featured_hint: "One public dataset id per line, in the order shown (at most 12).",
    featured_now: "Featured now",
    no_featured: "No featured dataset.",
    preview: "Preview",
};

impl PortalMessages {
    /// The messages in `lang`.
    pub fn of(lang: Lang) -> &'static PortalMessages {
        match lang {
            Lang::Fr => &PORTAL_FR,
            Lang::En => &PORTAL_EN,
        }
    }
}

/// `/admin/portal/`.
#[derive(Template, Debug)]
#[template(path = "admin_portal.html")]
pub struct PortalIndexPage {
    /// Chrome.
    pub layout: Layout,
    /// Messages.
    pub p: &'static PortalMessages,
}

/// One theme's row of the themes form.
#[derive(Debug, Clone)]
pub struct ThemeRow {
    /// Its id.
    pub id: String,
    /// French label.
    pub label_fr: String,
    /// English label.
    pub label_en: String,
    /// Description.
    pub description: String,
}

/// `/admin/portal/themes`.
#[derive(Template, Debug)]
#[template(path = "admin_portal_themes.html")]
pub struct PortalThemesPage {
    /// Chrome.
    pub layout: Layout,
    /// Messages of the admin pages (notices).
    pub m: &'static AdminMessages,
    /// Messages.
    pub p: &'static PortalMessages,
    /// The session's CSRF token.
    pub csrf: String,
    /// Saved or refused.
    pub notice: Notice,
    /// The themes.
    pub themes: Vec<ThemeRow>,
    /// The new theme's row (kept when the form is refused).
    pub new: ThemeRow,
}

/// A featured dataset as the home form lists it.
#[derive(Debug, Clone)]
pub struct FeaturedRow {
    /// Its id.
    pub id: String,
    /// Its title (the id when it is no longer published).
    pub title: String,
}

/// `/admin/portal/home` and `/admin/portal/about`.
#[derive(Template, Debug)]
#[template(path = "admin_portal_text.html")]
pub struct PortalTextPage {
    /// Chrome.
    pub layout: Layout,
    /// Messages of the admin pages (notices).
    pub m: &'static AdminMessages,
    /// Messages.
    pub p: &'static PortalMessages,
    /// The session's CSRF token.
    pub csrf: String,
    /// Saved or refused.
    pub notice: Notice,
    /// Heading.
    pub heading: &'static str,
    /// Introduction.
    pub intro: &'static str,
    /// Where the form posts.
    pub action: &'static str,
    /// French Markdown.
    pub text_fr: String,
    /// English Markdown.
    pub text_en: String,
    /// The sanitised HTML of the page's language, for the preview.
    pub preview: Option<String>,
    /// The home page's featured datasets (`None` on the about page).
    pub featured: Option<Vec<FeaturedRow>>,
    /// The featured field's text (one id per line).
    pub featured_text: String,
}
