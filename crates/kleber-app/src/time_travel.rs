//! Earlier versions of a dataset as readers see them: `version=N` on every read (dataset
//! object, records, one record, facets, exports, in every API), and the public list of
//! versions with each one's change summary (docs/versions.md).
//!
//! A request for version `N` first resolves the dataset as today (who may read it, through
//! which access rule), then swaps in version `N`'s record: its fields, count, source and file.
//! Today's access rule applies to every version: its hidden fields are hidden in old versions
//! too, and its condition filters them (a condition naming a field an old version lacks keeps
//! no row of it: the view fails closed). Outsiders of a rule see the counts of their view.
//! An old version's `ETag` stamp hashes that version's record as the caller sees it, so it
//! differs from every other version's and stays the same as long as the dataset's metadata do.

use std::sync::Arc;

use kleber_query::{DatasetRef, RecordsQuery, ScanView};
use kleber_store::{DatasetRecord, VersionInfo, VersionRecord, VersionSummary};
use serde_json::{Map, Value};

use crate::{App, DatasetVersion, Error, RequestContext};

/// The time a summary computed after a publication may take (a request's summary, computed
/// when a list asks for a missing one, has the query time limit).
pub const SUMMARY_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

/// An earlier version swapped into a resolution ([`DatasetVersion`]).
#[derive(Debug)]
pub(crate) struct At {
    /// The dataset's record with that version, as the caller sees it.
    pub(crate) record: DatasetRecord,
    /// The caller's scan view of that version, if an outsider of the rule.
    pub(crate) view: Option<Arc<ScanView>>,
    /// The `ETag` stamp.
    pub(crate) stamp: String,
}

/// One version as the Explore API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicVersion {
    /// Version number.
    pub number: i64,
    /// When it was published (RFC 3339).
    pub published_at: String,
    /// Records (as the caller sees them), or `None` when pruned and counted through a view.
    pub records_count: Option<i64>,
    /// Fields added, removed or retyped since the previous version (visible ones only).
    pub fields_changed: Vec<String>,
    /// The source file's name.
    pub source: Option<String>,
    /// The publisher's comment on the version (docs/versions.md#comments), shown to every
    /// reader of the dataset.
    pub comment: Option<String>,
    /// What changed from the previous version, when known (not shown to outsiders of a rule
    /// with a condition: it counts the whole table).
    pub summary: Option<VersionSummary>,
    /// Whether its data is gone (pruned).
    pub pruned: bool,
    /// Whether it is the version served without `version=`.
    pub current: bool,
}

/// Parses a `version` parameter: a positive integer.
pub fn parse_version(name: &str, text: &str) -> Result<i64, Error> {
    text.trim().parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        Error::BadParameter(format!(
            "Invalid value for {name}: {text:?} is not a version number; give a positive integer (the versions of a dataset are listed at /api/explore/v2.1/catalog/datasets/{{id}}/versions)"
        ))
    })
}

/// `versions` (newest first) as a sentence: "3, 2 and 1 (1 pruned: its data is gone)".
pub(crate) fn known(versions: &[VersionInfo]) -> String {
    if versions.is_empty() {
        return "none".to_owned();
    }
    let list: Vec<String> = versions.iter().map(|v| v.number.to_string()).collect();
    let pruned: Vec<String> =
        versions.iter().filter(|v| v.pruned).map(|v| v.number.to_string()).collect();
    let mut text = list.join(", ");
    if !pruned.is_empty() {
        text.push_str(&format!(" (pruned, data gone: {})", pruned.join(", ")));
    }
    text
}

/// A derived dataset's record at an earlier version names the input versions that version was
/// computed from (`derived_from_versions`, docs/crossing.md#recomputation), stored with it in
/// the catalog (`read`, JSON), not those of the current version; only the inputs the caller's
/// record already names (lineage is narrowed to what the caller reads) are kept. A version
/// computed before the dataset was derived names none.
fn input_versions_of(record: &mut DatasetRecord, read: Option<&str>) {
    let Some(Value::Object(today)) = record.metas.get("derived_from_versions") else { return };
    let read: Map<String, Value> =
        read.and_then(|r| serde_json::from_str(r).ok()).unwrap_or_default();
    let then: Map<String, Value> =
        read.into_iter().filter(|(input, _)| today.contains_key(input)).collect();
    record.metas.insert("derived_from_versions".to_owned(), Value::Object(then));
}

/// The summary of a dataset's first version: its records, all added.
fn first_summary(records: i64) -> VersionSummary {
    VersionSummary { previous: None, added: records, removed: 0, changed: 0 }
}

/// The engine's reference to a whole stored version (no view): for summaries.
fn whole_ref(uid: &str, v: &VersionRecord) -> DatasetRef {
    DatasetRef {
        uid: uid.to_owned(),
        version: v.number,
        data_path: v.data_path.clone(),
        fields: v.fields.clone(),
        view: None,
    }
}

impl App {
    /// Dataset `id` at version `version` (the text of a `version` parameter), as `ctx`'s
    /// caller may see it: the current resolution when it is the current version.
    pub async fn dataset_at(
        &self,
        ctx: &RequestContext,
        id: &str,
        version: &str,
    ) -> Result<DatasetVersion, Error> {
        let current = self.dataset(ctx, id).await?;
        let number = parse_version("version", version)?;
        self.version_of(current, number).await
    }

    /// `current` (a resolution of the current version) at version `number`.
    pub async fn version_of(
        &self,
        current: DatasetVersion,
        number: i64,
    ) -> Result<DatasetVersion, Error> {
        if number == current.current_number() {
            return Ok(DatasetVersion { at: None, ..current });
        }
        let (stored, read) = self.stored_version(&current, number).await?;
        let mut record = current.snapshot.records[current.index].clone();
        input_versions_of(&mut record, read.as_deref());
        let mut view = None;
        if let Some(today) = current.current_view() {
            // Today's hidden fields: stored today, not in the caller's copy of the record.
            let visible = &record.version.fields;
            let hidden: Vec<String> = today
                .stored
                .iter()
                .filter(|f| !visible.iter().any(|v| v.name == f.name))
                .map(|f| f.name.clone())
                .collect();
            let old_view = Arc::new(ScanView {
                stored: stored.fields.clone(),
                condition: today.condition.clone(),
                key: today.key.clone(),
            });
            let mut seen = stored.clone();
            seen.fields.retain(|f| !hidden.contains(&f.name));
            record.version = seen;
            let dataset = DatasetRef {
                uid: record.uid.clone(),
                version: number,
                data_path: record.version.data_path.clone(),
                fields: record.version.fields.clone(),
                view: Some(Arc::clone(&old_view)),
            };
            record.version.records_count = self.view_count(&dataset).await?;
            view = Some(old_view);
        } else {
            record.version = stored;
        }
        let stamp = format!("v{number}:{}", crate::catalog::stamp_of_dataset(&record));
        Ok(DatasetVersion {
            at: Some(Arc::new(At { record, view, stamp })),
            fields: None,
            ..current
        })
    }

    /// Version `number` of `current`'s dataset as stored, with the input versions it was
    /// computed from when it is a derived dataset's (JSON), or the error naming its versions.
    async fn stored_version(
        &self,
        current: &DatasetVersion,
        number: i64,
    ) -> Result<(VersionRecord, Option<String>), Error> {
        let (uid, id) = (current.uid().to_owned(), current.id().to_owned());
        let (found, versions, read) = self
            .on_store(move |store| {
                let found = store.catalog().version_record(&uid, number)?;
                let versions = store.catalog().version_infos(&id)?;
                let read = store.catalog().derived_version_inputs(&uid, number)?;
                Ok((found, versions, read))
            })
            .await?;
        let id = current.id();
        match found {
            None => Err(Error::VersionNotFound(format!(
                "dataset {id} has no version {number}; its versions are {}",
                known(&versions)
            ))),
            Some(v) if !v.data_path.exists() => Err(Error::VersionNotFound(format!(
                "version {number} of dataset {id} was pruned: its entry is kept, its data is gone; its versions are {}",
                known(&versions)
            ))),
            Some(v) => Ok((v, read)),
        }
    }

    /// Records of `dataset` through its view, counted once per (uid, version, view).
    async fn view_count(&self, dataset: &DatasetRef) -> Result<i64, Error> {
        let view_key = dataset.view.as_ref().map(|v| v.key.clone()).unwrap_or_default();
        let key = (dataset.uid.clone(), dataset.version, view_key);
        if let Some(count) = self.outsider_counts.get(&key) {
            return Ok(count);
        }
        let query = RecordsQuery { limit: Some(0), ..RecordsQuery::default() };
        let planned = self.engine.plan(dataset, &query).await?;
        let (total, _) = self.timed(self.engine.page(planned)).await?;
        let count = i64::try_from(total).unwrap_or(i64::MAX);
        self.outsider_counts.put(key, count);
        Ok(count)
    }

    /// The versions of `dataset` (resolved for the caller), newest first, as the Explore API
    /// lists them; summaries not computed yet are computed now and stored.
    pub async fn public_versions(
        &self,
        dataset: &DatasetVersion,
    ) -> Result<Vec<PublicVersion>, Error> {
        let infos = self.summarized_versions(dataset.uid(), dataset.id(), false).await?;
        let outsider = dataset.current_view().cloned();
        let mut out = Vec::with_capacity(infos.len());
        for info in infos {
            let mut records_count = Some(info.records);
            let mut summary = info.summary;
            let mut fields_changed = info.fields_changed.clone();
            let first = info.summary.is_some_and(|s| s.previous.is_none());
            if let Some(view) = &outsider {
                let visible = &dataset.snapshot.records[dataset.index].version.fields;
                let hidden = |name: &String| {
                    view.stored.iter().any(|f| &f.name == name)
                        && !visible.iter().any(|f| &f.name == name)
                };
                fields_changed.retain(|name| !hidden(name));
                // Stored summaries count the whole table (ids over every field): outsiders
                // get none, but for a first version, whose summary is its count.
                summary = None;
                if view.condition.is_some() {
                    records_count = if info.pruned {
                        None
                    } else {
                        let at = self.version_of(dataset.clone(), info.number).await?;
                        Some(at.record().version.records_count)
                    };
                }
            }
            if first {
                summary = records_count.map(first_summary);
            }
            out.push(PublicVersion {
                number: info.number,
                published_at: info.created_at,
                records_count,
                fields_changed,
                source: info.source,
                comment: info.comment,
                summary,
                pruned: info.pruned,
                current: info.current,
            });
        }
        Ok(out)
    }

    /// The versions of dataset `id` (uid `uid`) with every computable summary filled in;
    /// `background`: after a publication (summaries then get [`SUMMARY_TIME_LIMIT`], not a
    /// request's time limit).
    pub(crate) async fn summarized_versions(
        &self,
        uid: &str,
        id: &str,
        background: bool,
    ) -> Result<Vec<VersionInfo>, Error> {
        let lookup = id.to_owned();
        let mut infos =
            self.on_store(move |store| Ok(store.catalog().version_infos(&lookup)?)).await?;
        for i in 0..infos.len() {
            if infos[i].summary.is_some() || infos[i].pruned {
                continue;
            }
            let previous = infos.get(i + 1).map(|p| (p.number, p.pruned));
            let summary = match previous {
                // A first version: every record added (not stored: it is its count, which
                // outsiders of an access rule see through their view).
                None => {
                    infos[i].summary = Some(first_summary(infos[i].records));
                    continue;
                }
                Some((_, true)) => continue,
                Some((number, false)) => {
                    self.summary_between(uid, number, infos[i].number, background).await?
                }
            };
            let (uid, number) = (uid.to_owned(), infos[i].number);
            self.on_store(move |store| {
                Ok(store.catalog().set_version_summary(&uid, number, &summary)?)
            })
            .await?;
            infos[i].summary = Some(summary);
        }
        Ok(infos)
    }

    /// The summary of version `to` of dataset `uid` against version `from`.
    async fn summary_between(
        &self,
        uid: &str,
        from: i64,
        to: i64,
        background: bool,
    ) -> Result<VersionSummary, Error> {
        let owned = uid.to_owned();
        let (old, new) = self
            .on_store(move |store| {
                let c = store.catalog();
                Ok((c.version_record(&owned, from)?, c.version_record(&owned, to)?))
            })
            .await?;
        let (Some(old), Some(new)) = (old, new) else {
            return Err(Error::internal(format!("versions {from} and {to} of {uid} not found")));
        };
        let (old, new) = (whole_ref(uid, &old), whole_ref(uid, &new));
        let counts = if background {
            self.engine.change_counts_within(&old, &new, SUMMARY_TIME_LIMIT).await?
        } else {
            self.timed(self.engine.change_counts(&old, &new)).await?
        };
        let n = |x: u64| i64::try_from(x).unwrap_or(i64::MAX);
        Ok(VersionSummary {
            previous: Some(from),
            added: n(counts.added),
            removed: n(counts.removed),
            changed: n(counts.changed),
        })
    }

    /// Writes the digest file of dataset `id`'s current version (after a publish: the
    /// version worker), so that its first diff reads each record's digest instead of hashing
    /// every row (docs/versions.md#cost). A failure is logged, not returned: a diff computes
    /// the digests it lacks.
    ///
    /// A dataset's first version gets none: nothing is diffed against it until a second
    /// version comes, whose summary writes both files then, and most datasets of a catalog
    /// are published once. Hashing every record is a sixth of an import's CPU.
    pub async fn prepare_latest_digests(&self, id: &str) {
        let lookup = id.to_owned();
        let found = self
            .on_store(move |store| {
                let c = store.catalog();
                let Some(d) = c.managed_dataset(&lookup)? else { return Ok(None) };
                let Some(number) = d.current_version else { return Ok(None) };
                if !c.versions(&lookup)?.iter().any(|n| *n < number) {
                    return Ok(None);
                }
                Ok(c.version_record(&d.uid, number)?.map(|v| whole_ref(&d.uid, &v)))
            })
            .await;
        let outcome = match found {
            Ok(Some(dataset)) => self
                .engine
                .prepare_digests(&dataset, SUMMARY_TIME_LIMIT)
                .await
                .map(|_| ())
                .map_err(Error::from),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            tracing::warn!("digests of the new version of {id} not written: {e}");
        }
    }

    /// Computes and stores the summary of dataset `id`'s newest version (after a publish).
    /// A failure is logged, not returned: the summary is computed again when listed.
    pub async fn summarize_latest(&self, id: &str) {
        let lookup = id.to_owned();
        let uid = self
            .on_store(move |store| Ok(store.catalog().managed_dataset(&lookup)?.map(|d| d.uid)))
            .await;
        if let Ok(Some(uid)) = uid
            && let Err(e) = self.summarized_versions(&uid, id, true).await
        {
            tracing::warn!("summary of the new version of {id} not computed: {e}");
        }
    }
}
