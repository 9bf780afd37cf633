//! Importing a file as a new version of a dataset: the one pipeline of `kleber import`, the
//! demo data and the management API's uploads ([`crate::uploads`]).
//!
//! 1. [`read_into`]: sniff the content (never the name), read, infer the types over the whole
//!    file, apply the typed schema overrides ([`SchemaEdit`]: types and multivalued
//!    separators while reading, so a value that does not fit rejects its row; labels,
//!    descriptions, facets, order and unique-id fields on the fields), into one Parquet file;
//! 2. [`publish_read`]: move that file into a pending version, write the rejected rows'
//!    report, and commit it atomically.
//!
//! `kleber import` runs both at once ([`import_file_with`]); an upload runs step 1 into its
//! own directory when the file arrives and again at each schema change, and step 2 when the
//! publisher publishes it. A file that cannot be read at all fails before anything is
//! published, so the previous version stays current; rows that cannot be read are reported in
//! `rejected.csv` beside the new version.

use std::path::{Path, PathBuf};

use anyhow::Context;
use kleber_ingest::{ImportOptions, ImportOutcome, Progress};
use kleber_store::{Actor, CrashPoint, PendingVersion, Publication, Store, Visibility};
use kleber_types::{Field, FieldType};
use serde::{Deserialize, Serialize};

/// What to import where.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The source file.
    pub path: PathBuf,
    /// The dataset identifier (created if new).
    pub dataset: String,
    /// A title for the dataset.
    pub title: Option<String>,
    /// Reading options.
    pub options: ImportOptions,
    /// The field whose value identifies a record (annotation `id`), so record ids stay stable
    /// when other values change between versions.
    pub unique_id: Option<String>,
    /// Test hook: abort the process at this point of the publication.
    pub crash: Option<CrashPoint>,
}

/// Where an import publishes: its organization and visibility (each `None`: a new dataset
/// goes to the default organization, public; an existing one keeps its own), who does it,
/// and what they say about the new version.
#[derive(Debug, Clone, Default)]
pub struct ImportAccess {
    /// The organization.
    pub organization: Option<String>,
    /// The visibility.
    pub visibility: Option<Visibility>,
    /// Who publishes, for the audit log (default: the operator at the shell).
    pub actor: Option<Actor>,
    /// The publisher's comment on the new version (docs/versions.md#comments), checked by
    /// [`begin`] with [`crate::versions::check_comment`] before anything is read.
    pub comment: Option<String>,
}

/// What an import produced.
#[derive(Debug)]
pub struct ImportSummary {
    /// The dataset identifier.
    pub dataset: String,
    /// Its immutable uid.
    pub uid: String,
    /// The version published.
    pub version: i64,
    /// What the reader found.
    pub outcome: ImportOutcome,
    /// The rejected-rows report, when rows were rejected.
    pub report_path: Option<PathBuf>,
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// One field's changes over what was inferred. `None` keeps what was inferred.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldEdit {
    /// The field's technical name (or its header).
    pub name: String,
    /// The type every value must fit (a value that does not rejects its row).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub field_type: Option<FieldType>,
    /// The label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The description (empty: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the field is a facet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facet: Option<bool>,
    /// Whether its facet is disjunctive (several values refined at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disjunctive: Option<bool>,
    /// How its facet's values are sorted: `count`, `-count`, `alphanum`, `-alphanum`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facet_sort: Option<String>,
    /// The separator of a hierarchical facet's levels (empty: not hierarchical).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hierarchical: Option<String>,
    /// The separator of a multivalued text field's values (applied while reading).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multivalued: Option<String>,
}

/// The typed schema overrides of an import: per-field changes, the field order, and the
/// fields whose values identify a record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaEdit {
    /// Changes to fields, by name.
    #[serde(default)]
    pub fields: Vec<FieldEdit>,
    /// Field names in the order wanted; fields not named follow in their own order.
    #[serde(default)]
    pub order: Vec<String>,
    /// The fields whose values identify a record (annotation `id`): record ids stay stable
    /// across versions and the real-time push replaces the records with the same values.
    #[serde(default)]
    pub unique_id: Vec<String>,
}

/// Facet sorts Opendatasoft knows.
const FACET_SORTS: &[&str] = &["count", "-count", "alphanum", "-alphanum"];

impl SchemaEdit {
    /// Checks what can be checked without the file: facet sorts, separators, labels.
    pub fn check(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for f in &self.fields {
            if !seen.insert(f.name.as_str()) {
                return Err(format!("field `{}` is named twice in `fields`", f.name));
            }
            if let Some(sort) = &f.facet_sort
                && !FACET_SORTS.contains(&sort.as_str())
            {
                return Err(format!(
                    "field `{}`: facet_sort `{sort}` is not one of {}",
                    f.name,
                    FACET_SORTS.join(", ")
                ));
            }
            if f.multivalued.as_deref().is_some_and(str::is_empty) {
                return Err(format!(
                    "field `{}`: the multivalued separator is empty; give e.g. \",\" or \";\"",
                    f.name
                ));
            }
            if f.label.as_deref().is_some_and(|l| l.trim().is_empty()) {
                return Err(format!("field `{}`: the label is empty", f.name));
            }
        }
        Ok(())
    }

    /// The `(field, annotation)` pairs this edit sets or removes on `fields` (read and edited
    /// with it): the publisher's decisions, which a new version keeps instead of carrying the
    /// previous version's annotations over (`facet: false` removes a facet for good). Naming
    /// unique-id fields settles `id` on every field.
    pub fn settled_annotations(&self, fields: &[Field]) -> Vec<(String, String)> {
        let mut settled = Vec::new();
        for edit in &self.fields {
            let Some(field) = fields.iter().find(|f| f.name == edit.name || f.label == edit.name)
            else {
                continue;
            };
            let decided = [
                ("facet", edit.facet.is_some()),
                ("disjunctive", edit.disjunctive.is_some()),
                ("facetsort", edit.facet_sort.is_some()),
                ("hierarchical", edit.hierarchical.is_some()),
            ];
            for (name, _) in decided.iter().filter(|(_, d)| *d) {
                settled.push((field.name.clone(), (*name).to_owned()));
            }
        }
        if !self.unique_id.is_empty() {
            settled.extend(fields.iter().map(|f| (f.name.clone(), "id".to_owned())));
        }
        settled
    }

    /// `options` with this edit's types and multivalued separators added.
    pub fn reading_options(&self, options: &ImportOptions) -> ImportOptions {
        let mut options = options.clone();
        for f in &self.fields {
            if let Some(t) = f.field_type {
                options.type_overrides.insert(f.name.clone(), t);
            }
            if let Some(sep) = &f.multivalued {
                options.multivalued.insert(f.name.clone(), sep.clone());
            }
        }
        options
    }

    /// Applies labels, descriptions, facets, the order and the unique-id fields to `fields`
    /// (read with [`SchemaEdit::reading_options`]). A name that is no field is an error naming
    /// the fields.
    pub fn apply(&self, fields: &mut Vec<Field>) -> Result<(), String> {
        fn find<'a>(fields: &'a mut [Field], name: &str) -> Result<&'a mut Field, String> {
            let names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
            fields.iter_mut().find(|f| f.name == name || f.label == name).ok_or_else(|| {
                format!("no such field `{name}`; the fields are {}", names.join(", "))
            })
        }
        for edit in &self.fields {
            let field = find(fields, &edit.name)?;
            if let Some(label) = &edit.label {
                label.trim().clone_into(&mut field.label);
            }
            if let Some(d) = &edit.description {
                field.description = (!d.trim().is_empty()).then(|| d.clone());
            }
            let set = |field: &mut Field, name: &str, on: bool, args: Vec<String>| {
                if on {
                    field.annotations.insert(name.to_owned(), args);
                } else {
                    field.annotations.remove(name);
                }
            };
            if let Some(on) = edit.facet {
                set(field, "facet", on, Vec::new());
            }
            if let Some(on) = edit.disjunctive {
                set(field, "disjunctive", on, Vec::new());
            }
            if let Some(sort) = &edit.facet_sort {
                set(field, "facetsort", true, vec![sort.clone()]);
            }
            if let Some(sep) = &edit.hierarchical {
                set(field, "hierarchical", !sep.is_empty(), vec![sep.clone()]);
            }
        }
        for name in &self.unique_id {
            find(fields, name)?.annotations.insert("id".to_owned(), Vec::new());
        }
        let mut ordered = Vec::with_capacity(fields.len());
        for name in &self.order {
            let i = fields.iter().position(|f| &f.name == name || &f.label == name).ok_or_else(
                || {
                    let names: Vec<&str> = fields
                        .iter()
                        .chain(ordered.iter())
                        .map(|f: &Field| f.name.as_str())
                        .collect();
                    format!("order: no field `{name}` (or named twice); the fields are {}", {
                        names.join(", ")
                    })
                },
            )?;
            ordered.push(fields.remove(i));
        }
        ordered.append(fields);
        *fields = ordered;
        Ok(())
    }
}

/// Steps 1 to 4 of the pipeline: reads `input` (format from its content, see
/// `kleber_ingest`), infers its types, applies `schema`, and writes `parquet`.
/// Errors say what is wrong, and then nothing is left at `parquet`.
pub fn read_into(
    input: &Path,
    parquet: &Path,
    options: &ImportOptions,
    schema: &SchemaEdit,
    progress: &mut dyn FnMut(Progress),
) -> anyhow::Result<ImportOutcome> {
    schema.check().map_err(anyhow::Error::msg)?;
    let options = schema.reading_options(options);
    let mut outcome = kleber_ingest::import_file(input, parquet, &options, progress)?;
    if let Err(e) = schema.apply(&mut outcome.fields) {
        let _ = std::fs::remove_file(parquet);
        anyhow::bail!(e);
    }
    Ok(outcome)
}

/// Step 5: publishes what [`read_into`] wrote into `pending`'s data file (`parquet` is moved
/// there unless it is that file already), with the rejected rows' report `report` (moved
/// too, unless it is already the pending version's).
#[allow(clippy::too_many_arguments)]
pub fn publish_read(
    pending: PendingVersion<'_>,
    parquet: &Path,
    report: Option<&Path>,
    fields: &[Field],
    rows: u64,
    rejected: u64,
    source: Option<&str>,
    title: Option<&str>,
    crash: Option<CrashPoint>,
) -> anyhow::Result<Publication> {
    let data = pending.data_path();
    if parquet != data {
        std::fs::rename(parquet, &data)
            .with_context(|| format!("cannot move {} into the new version", parquet.display()))?;
    }
    let pending_report = pending.report_path();
    if let Some(report) = report
        && report != pending_report
    {
        std::fs::rename(report, &pending_report)
            .context("cannot move the report of rejected rows into the new version")?;
    }
    Ok(pending.commit_with_crash(fields, rows, rejected, source, title, crash)?)
}

/// Opens a pending version of `dataset` for `access` (an unknown organization or a comment
/// [`crate::versions::check_comment`] refuses is refused before anything is read).
pub fn begin<'s>(
    store: &'s Store,
    dataset: &str,
    access: &ImportAccess,
) -> anyhow::Result<PendingVersion<'s>> {
    let comment = crate::versions::check_comment(access.comment.as_deref())
        .map_err(|e| anyhow::anyhow!("{e}; nothing was published"))?;
    if let Some(org) = &access.organization
        && store.catalog().get_org(org)?.is_none()
    {
        return Err(kleber_store::Error::OrgNotFound { id: org.clone() })
            .context("nothing was published");
    }
    if let Some(d) = store.catalog().managed_dataset(dataset)?
        && (d.archived || d.deleted_at.is_some())
    {
        let state = if d.archived {
            "archived (read-only): unarchive it"
        } else {
            "in the trash: restore it"
        };
        anyhow::bail!(
            "dataset `{dataset}` is {state} before importing into it; nothing was published"
        );
    }
    let mut pending = store.begin_version(dataset)?;
    pending.set_access(
        access.organization.as_deref(),
        access.visibility,
        access.actor.clone().unwrap_or_else(crate::accounts::operator),
    );
    pending.set_comment(comment.as_deref());
    Ok(pending)
}

/// Imports `request.path` into `store` as a new version of `request.dataset`.
pub fn import_file(
    store: &Store,
    request: &ImportRequest,
    progress: &mut dyn FnMut(Progress),
) -> anyhow::Result<ImportSummary> {
    import_file_with(store, request, &ImportAccess::default(), progress)
}

/// [`import_file`] into the organization and visibility of `access`: the whole pipeline,
/// reading straight into the pending version. An unknown organization is refused before the
/// file is read.
pub fn import_file_with(
    store: &Store,
    request: &ImportRequest,
    access: &ImportAccess,
    progress: &mut dyn FnMut(Progress),
) -> anyhow::Result<ImportSummary> {
    let pending = begin(store, &request.dataset, access)?;
    let schema = SchemaEdit {
        unique_id: request.unique_id.iter().cloned().collect(),
        ..SchemaEdit::default()
    };
    let data = pending.data_path();
    let outcome =
        read_into(&request.path, &data, &request.options, &schema, progress).map_err(|e| {
            match request.unique_id.as_deref() {
                Some(name) if e.to_string().starts_with("no such field") => {
                    anyhow::anyhow!("--unique-id {name}: {e}. Nothing was published.")
                }
                _ => e.context(format!(
                    "nothing was published; dataset `{}` keeps its previous version",
                    request.dataset
                )),
            }
        })?;
    let mut outcome = outcome;
    // The dataset's processors (docs/sources.md#processors), run by the operator.
    if let Some((fields, rows)) = crate::processors::apply_stored(
        store,
        &request.dataset,
        None,
        &data,
        &data,
        &outcome.fields,
    )
    .map_err(anyhow::Error::new)?
    {
        outcome.fields = fields;
        outcome.rows = rows;
    }
    let report = pending.report_path();
    if !outcome.rejected.is_empty() {
        kleber_ingest::write_issues_csv(&outcome.rejected, &report)
            .context("cannot write the report of rejected rows")?;
    }
    let publication = publish_read(
        pending,
        &data,
        (!outcome.rejected.is_empty()).then_some(report.as_path()),
        &outcome.fields,
        outcome.rows,
        outcome.rejected.len() as u64,
        file_name(&request.path).as_deref(),
        request.title.as_deref(),
        request.crash,
    )?;
    Ok(ImportSummary {
        dataset: request.dataset.clone(),
        uid: publication.uid,
        version: publication.version,
        outcome,
        report_path: publication.report_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<Field> {
        vec![
            Field::new("a", "A", FieldType::Int),
            Field::new("b", "B", FieldType::Text),
            Field::new("c", "C", FieldType::Text),
        ]
    }

    #[test]
    fn edits_apply_labels_facets_order_and_unique_ids() {
        let edit: SchemaEdit = serde_json::from_value(serde_json::json!({
            "fields": [{"name": "b", "label": " Bee ", "facet": true, "facet_sort": "-count",
                        "hierarchical": "/"},
                       {"name": "C", "description": "the c"}],
            "order": ["c", "b"],
            "unique_id": ["a"]
        }))
        .unwrap();
        edit.check().unwrap();
        let mut f = fields();
        edit.apply(&mut f).unwrap();
        let names: Vec<&str> = f.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["c", "b", "a"]);
        assert_eq!(f[1].label, "Bee");
        assert_eq!(f[1].annotations["facetsort"], ["-count"]);
        assert_eq!(f[1].annotations["hierarchical"], ["/"]);
        assert!(f[1].annotations.contains_key("facet"));
        assert_eq!(f[0].description.as_deref(), Some("the c"));
        assert!(f[2].annotations.contains_key("id"));
    }

    #[test]
    fn bad_edits_name_what_is_wrong() {
        let unknown = SchemaEdit { unique_id: vec!["z".to_owned()], ..SchemaEdit::default() };
        let e = unknown.apply(&mut fields()).unwrap_err();
        assert!(e.contains("`z`") && e.contains("a, b, c"), "{e}");
        let twice =
            SchemaEdit { order: vec!["a".to_owned(), "a".to_owned()], ..SchemaEdit::default() };
        assert!(twice.apply(&mut fields()).unwrap_err().contains("order"));
        let sort: Result<SchemaEdit, _> = serde_json::from_value(
            serde_json::json!({"fields": [{"name": "b", "facet_sort": "random"}]}),
        );
        assert!(sort.unwrap().check().unwrap_err().contains("count, -count"));
        let extra: Result<SchemaEdit, _> =
            serde_json::from_value(serde_json::json!({"fields": [], "hidden": ["a"]}));
        assert!(extra.unwrap_err().to_string().contains("hidden"));
    }
}
