//! The catalog as every front end reads it: every published dataset, the catalog table the
//! query engine filters, and the full-text index; rebuilt when the store's generation changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use kleber_query::catalog::CatalogEntry;
use kleber_search::{CatalogDoc, CatalogIndex};
use kleber_store::{DatasetRecord, Organization, Store};
use kleber_types::FieldType;
use serde_json::Value;

/// The `features` of a dataset: `analyze` when it has records, `geo` with a geo field,
/// `timeserie` with a date field.
pub fn features(record: &DatasetRecord) -> Vec<&'static str> {
    let fields = &record.version.fields;
    let mut features = Vec::new();
    if record.version.records_count > 0 {
        features.push("analyze");
    }
    if fields.iter().any(|f| matches!(f.field_type, FieldType::GeoPoint2d | FieldType::GeoShape)) {
        features.push("geo");
    }
    if fields.iter().any(|f| matches!(f.field_type, FieldType::Date | FieldType::Datetime)) {
        features.push("timeserie");
    }
    features
}

/// One consistent view of the catalog.
pub struct CatalogSnapshot {
    /// The store generation it was built from.
    pub generation: i64,
    /// Published datasets, by identifier.
    pub records: Vec<DatasetRecord>,
    /// The same, as rows of the catalog table.
    pub entries: Vec<CatalogEntry>,
    /// The catalog table the query engine filters, built once per generation.
    pub table: kleber_query::RecordBatch,
    /// Full-text index over titles, descriptions, keywords, themes and publishers.
    pub index: CatalogIndex,
    /// For each record, a digest of everything its answers depend on (the ETag's stamp).
    pub stamps: Vec<String>,
    /// A digest of every record's stamp, in order: what the answers over this snapshot depend
    /// on (the catalog's `ETag` stamp), whatever the rest of the store holds.
    pub content: String,
    /// Every organization, by identifier (shared by the audience parts: organizations are
    /// public, their datasets are not).
    pub organizations: Arc<Vec<Organization>>,
    /// For each record, the scan view its queries start from (`Some` when the audience sees
    /// it through its access rule, [`crate::rules`]).
    pub views: Vec<Option<Arc<kleber_query::ScanView>>>,
    /// Empty for the whole catalog; for the part one audience sees, a digest of the uids it
    /// sees (part of ETags and response-cache keys, so audiences never share them).
    pub audience: String,
    /// The parts of this catalog built for audiences that see less than all of it, by what
    /// they see ([`CatalogSnapshot::visible_to`]).
    audiences: Mutex<HashMap<Vec<usize>, Arc<CatalogSnapshot>>>,
}

/// Audience views kept per generation; past it they are dropped and rebuilt when asked.
const MAX_AUDIENCES: usize = 64;

/// The latest snapshot, shared by requests.
#[derive(Default)]
pub struct CatalogCache {
    current: RwLock<Option<Arc<CatalogSnapshot>>>,
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => {
            items.iter().filter_map(Value::as_str).map(str::to_owned).collect()
        }
        Some(Value::String(s)) => {
            s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

fn micros(rfc3339: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(rfc3339).ok().map(|d| d.timestamp_micros())
}

fn entry(record: &DatasetRecord) -> CatalogEntry {
    let text = |key: &str| record.metas.get(key).and_then(Value::as_str).map(str::to_owned);
    CatalogEntry {
        dataset_id: record.id.clone(),
        title: record.title.clone(),
        description: record.description.clone(),
        publisher: text("publisher"),
        organization: Some(record.organization.clone()),
        theme: strings(record.metas.get("theme")),
        keyword: strings(record.metas.get("keyword")),
        license: text("license"),
        language: text("language").or_else(|| Some("fr".to_owned())),
        modified: micros(&record.modified),
        data_processed: micros(&record.version.created_at),
        records_count: record.version.records_count,
        features: features(record).into_iter().map(str::to_owned).collect(),
        has_records: record.version.records_count > 0,
        archived: record.metas.get("archived").and_then(Value::as_bool).unwrap_or(false),
    }
}

fn doc(e: &CatalogEntry) -> CatalogDoc {
    CatalogDoc {
        dataset_id: e.dataset_id.clone(),
        title: e.title.clone(),
        description: e.description.clone(),
        keywords: e.keyword.clone(),
        themes: e.theme.clone(),
        publisher: e.publisher.clone(),
    }
}

/// A digest of what a dataset's answers depend on: its uid, organization, visibility,
/// version, modification time (which an access rule's change sets), title, description,
/// metadata, fields, attachments and records count (fields and count as the audience sees them).
pub fn stamp_of_dataset(record: &DatasetRecord) -> String {
    use sha1::{Digest, Sha1};
    let mut hash = Sha1::new();
    let attachments: String = record
        .attachments
        .iter()
        .map(|a| {
            format!(
                "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\n",
                a.id, a.title, a.mimetype, a.size, a.updated_at
            )
        })
        .collect();
    for part in [
        record.uid.as_str(),
        &record.organization,
        record.visibility.as_str(),
        &record.version.number.to_string(),
        &record.modified,
        &record.title,
        record.description.as_deref().unwrap_or("\u{0}"),
        &serde_json::Value::Object(record.metas.clone()).to_string(),
        &serde_json::to_string(&record.version.fields).unwrap_or_default(),
        &attachments,
        // Outsiders of an access rule see fewer records than staff, at the same version.
        &record.version.records_count.to_string(),
    ] {
        hash.update(part.as_bytes());
        hash.update([0xff]);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Gives every dataset without a `publisher` its organization's name as publisher, so every
/// surface built from the snapshot (dataset objects, catalog table and facets, search, portal
/// pages, feed, JSON-LD) shows the same default. The stored metadata is not changed.
fn default_publishers(records: &mut [DatasetRecord], organizations: &[Organization]) {
    for record in records {
        let unset = match record.metas.get("publisher") {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(_) => false,
        };
        if !unset {
            continue;
        }
        let found = organizations.binary_search_by(|o| o.id.as_str().cmp(&record.organization));
        if let Ok(i) = found {
            record
                .metas
                .insert("publisher".to_owned(), Value::String(organizations[i].name.clone()));
        }
    }
}

impl CatalogSnapshot {
    /// A snapshot of `records` (ordered by identifier) at `generation`.
    fn build(
        generation: i64,
        mut records: Vec<DatasetRecord>,
        views: Vec<Option<Arc<kleber_query::ScanView>>>,
        organizations: Arc<Vec<Organization>>,
        audience: String,
    ) -> anyhow::Result<CatalogSnapshot> {
        // Lineage names only datasets of this audience (before the stamps hash the metas).
        crate::derive::lineage_both_ways(&mut records);
        let entries: Vec<CatalogEntry> = records.iter().map(entry).collect();
        let docs: Vec<CatalogDoc> = entries.iter().map(doc).collect();
        let index = CatalogIndex::build(&docs)?;
        let table = kleber_query::catalog::catalog_batch(&entries)?;
        let stamps: Vec<String> = records.iter().map(stamp_of_dataset).collect();
        let content = {
            use sha1::{Digest, Sha1};
            let mut hash = Sha1::new();
            for stamp in &stamps {
                hash.update(stamp.as_bytes());
                hash.update([0xff]);
            }
            // Organizations are public and shown beside their datasets (names as default
            // publishers, organization pages and facets): a change to one changes answers.
            for o in organizations.iter() {
                let kind = o.kind.as_str();
                for part in [&o.id, &o.name, kind, o.description.as_deref().unwrap_or("\u{0}")] {
                    hash.update(part.as_bytes());
                    hash.update([0xfe]);
                }
                for part in [&o.website, &o.logo] {
                    hash.update(part.as_deref().unwrap_or("\u{0}").as_bytes());
                    hash.update([0xfe]);
                }
            }
            hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
        };
        Ok(CatalogSnapshot {
            generation,
            records,
            entries,
            table,
            index,
            stamps,
            content,
            organizations,
            views,
            audience,
            audiences: Mutex::new(HashMap::new()),
        })
    }

    /// What `principal` sees of this catalog: for each record it may read, its position `i`
    /// as `2 i` when it sees it whole, `2 i + 1` when through its access rule (an outsider,
    /// [`crate::rules`]).
    pub fn visible_to(&self, principal: &crate::Principal) -> Vec<usize> {
        (0..self.records.len())
            .filter(|&i| principal.may_read(&self.records[i]))
            .map(|i| i << 1 | usize::from(crate::rules::is_outsider(principal, &self.records[i])))
            .collect()
    }

    /// The positions of the records that `visible` sees through their access rule.
    pub fn outsider_positions(visible: &[usize]) -> impl Iterator<Item = usize> + '_ {
        visible.iter().filter(|&&v| v & 1 == 1).map(|&v| v >> 1)
    }

    /// The part of this catalog `visible` sees, if it is this one or already built.
    pub fn audience_if_built(self: &Arc<Self>, visible: &[usize]) -> Option<Arc<CatalogSnapshot>> {
        if visible.len() == self.records.len() && visible.iter().all(|&v| v & 1 == 0) {
            return Some(Arc::clone(self));
        }
        let audiences = self.audiences.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        audiences.get(visible).map(Arc::clone)
    }

    /// The part of this catalog `visible` sees ([`CatalogSnapshot::visible_to`]), built and
    /// kept if needed (blocking: builds a search index). `outsider_counts` gives, by position,
    /// the records outsiders see of each dataset they see through its rule.
    pub fn audience(
        self: Arc<Self>,
        visible: Vec<usize>,
        outsider_counts: &HashMap<usize, i64>,
    ) -> anyhow::Result<Arc<CatalogSnapshot>> {
        if let Some(built) = self.audience_if_built(&visible) {
            return Ok(built);
        }
        use sha1::{Digest, Sha1};
        let mut hash = Sha1::new();
        for &v in &visible {
            hash.update(self.records[v >> 1].uid.as_bytes());
            hash.update([0xff, u8::from(v & 1 == 1)]);
        }
        let audience: String = hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
        let mut records = Vec::with_capacity(visible.len());
        let mut views = Vec::with_capacity(visible.len());
        for &v in &visible {
            let record = &self.records[v >> 1];
            if v & 1 == 1 {
                let count = outsider_counts.get(&(v >> 1)).copied().ok_or_else(|| {
                    anyhow::anyhow!("no outsider count for dataset {}", record.id)
                })?;
                records.push(crate::rules::outsider_record(record, count));
                views.push(crate::rules::view_of(record));
            } else {
                records.push(record.clone());
                views.push(None);
            }
        }
        let part = Arc::new(CatalogSnapshot::build(
            self.generation,
            records,
            views,
            Arc::clone(&self.organizations),
            audience,
        )?);
        let mut audiences =
            self.audiences.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if audiences.len() >= MAX_AUDIENCES {
            audiences.clear();
        }
        audiences.insert(visible, Arc::clone(&part));
        Ok(part)
    }

    /// The published dataset `id` (records are ordered by identifier).
    pub fn record(&self, id: &str) -> Option<&DatasetRecord> {
        self.position(id).map(|i| &self.records[i])
    }

    /// The stamp of the published dataset `id`: it changes with its version and metadata.
    pub fn stamp(&self, id: &str) -> Option<&str> {
        self.position(id).map(|i| self.stamps[i].as_str())
    }

    /// The organization `id`, if any.
    pub fn organization(&self, id: &str) -> Option<&Organization> {
        let found = self.organizations.binary_search_by(|o| o.id.as_str().cmp(id));
        found.ok().map(|i| &self.organizations[i])
    }

    /// The position of dataset `id` in [`CatalogSnapshot::records`].
    pub fn position(&self, id: &str) -> Option<usize> {
        self.records.binary_search_by(|r| r.id.as_str().cmp(id)).ok()
    }
}

impl CatalogCache {
    /// The kept snapshot if the store has not changed since it was built.
    pub fn current_if_fresh(&self, store: &Store) -> anyhow::Result<Option<Arc<CatalogSnapshot>>> {
        let generation = store.recent_generation()?;
        let current = self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(current.as_ref().filter(|c| c.generation == generation).map(Arc::clone))
    }

    /// The current snapshot, rebuilt first if the store changed. Blocking: call it from
    /// `spawn_blocking`.
    pub fn snapshot(&self, store: &Store) -> anyhow::Result<Arc<CatalogSnapshot>> {
        let generation = store.recent_generation()?;
        if let Some(current) =
            self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref()
            && current.generation == generation
        {
            return Ok(Arc::clone(current));
        }
        let mut records = store.list_datasets()?;
        let mut organizations = store.catalog().list_orgs()?;
        organizations.sort_by(|a, b| a.id.cmp(&b.id));
        default_publishers(&mut records, &organizations);
        let views = vec![None; records.len()];
        let snapshot = Arc::new(CatalogSnapshot::build(
            generation,
            records,
            views,
            Arc::new(organizations),
            String::new(),
        )?);
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(Arc::clone(&snapshot));
        Ok(snapshot)
    }
}
