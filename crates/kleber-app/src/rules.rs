//! Access rules: what outsiders see of a public dataset (docs/security.md#access-rules).
//!
//! A dataset may carry an [`AccessRule`]: fields hidden from outsiders and an ODSQL condition
//! their records must meet. Outsiders are the callers who read the dataset only because it is
//! public ([`policy::sees_whole`] is false); staff see the whole table.
//!
//! The rule is applied once, when the catalog is resolved for an audience: an outsider's
//! snapshot holds a copy of the dataset's record with only the visible fields and the count of
//! the records it may see, and the [`ScanView`] every query over it starts from (the engine
//! filters and projects the Parquet scan itself). Everything built from the resolution — the
//! dataset object, the catalog table and its facets, the search index, portal pages,
//! JSON-LD, exports, errors, `ETag`s and cache keys — then describes the view, not the table.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kleber_query::{DatasetRef, RecordsQuery, ScanView};
use kleber_store::{AccessRule, DatasetRecord};

use crate::policy::{self, DatasetAccess};
use crate::{App, Error, Principal, RequestContext};

/// Whether `principal` sees `record` through its rule (it has one, and `principal` is not
/// staff of it).
pub(crate) fn is_outsider(principal: &Principal, record: &DatasetRecord) -> bool {
    record.rule.as_ref().is_some_and(|r| !r.is_empty())
        && !policy::sees_whole(principal, DatasetAccess::from(record))
}

/// The scan view of `record`'s rule, for outsiders (`None` when it has no rule).
pub(crate) fn view_of(record: &DatasetRecord) -> Option<Arc<ScanView>> {
    let rule = record.rule.as_ref().filter(|r| !r.is_empty())?;
    use sha1::{Digest, Sha1};
    let mut hash = Sha1::new();
    for name in &rule.hidden {
        hash.update(name.as_bytes());
        hash.update([0xff]);
    }
    hash.update([0xfe]);
    hash.update(rule.condition.as_deref().unwrap_or_default().as_bytes());
    let key = hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    Some(Arc::new(ScanView {
        stored: record.version.fields.clone(),
        condition: rule.condition.clone().filter(|c| !c.trim().is_empty()),
        key,
    }))
}

/// `record` as outsiders see it: the visible fields, `records_count` of the records they may
/// see, and no rule (its condition names what is filtered).
pub(crate) fn outsider_record(record: &DatasetRecord, records_count: i64) -> DatasetRecord {
    let mut seen = record.clone();
    if let Some(rule) = &record.rule {
        seen.version.fields.retain(|f| !rule.hidden.contains(&f.name));
    }
    seen.version.records_count = records_count;
    seen.rule = None;
    seen
}

/// The engine's reference to `record`'s version as outsiders see it.
pub(crate) fn outsider_ref(record: &DatasetRecord) -> DatasetRef {
    let view = view_of(record);
    let hidden = record.rule.as_ref().map(|r| r.hidden.as_slice()).unwrap_or_default();
    DatasetRef {
        uid: record.uid.clone(),
        version: record.version.number,
        data_path: record.version.data_path.clone(),
        fields: record
            .version
            .fields
            .iter()
            .filter(|f| !hidden.contains(&f.name))
            .cloned()
            .collect(),
        view,
    }
}

/// Records outsiders see per (uid, version, view key): counted once, kept across catalog
/// generations (a version and a rule never change; a new one is a new key).
#[derive(Default)]
pub(crate) struct OutsiderCounts {
    counts: Mutex<HashMap<(String, i64, String), i64>>,
}

/// Counts kept at most; past it they are forgotten and counted again when asked.
const MAX_COUNTS: usize = 4096;

impl OutsiderCounts {
    pub(crate) fn get(&self, key: &(String, i64, String)) -> Option<i64> {
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(key).copied()
    }

    pub(crate) fn put(&self, key: (String, i64, String), count: i64) {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if counts.len() >= MAX_COUNTS {
            counts.clear();
        }
        counts.insert(key, count);
    }
}

impl App {
    /// The number of records of `record` outsiders see (its rule's condition applied).
    pub(crate) async fn outsider_count(&self, record: &DatasetRecord) -> Result<i64, Error> {
        let dataset = outsider_ref(record);
        let view_key = dataset.view.as_ref().map(|v| v.key.clone()).unwrap_or_default();
        let key = (record.uid.clone(), record.version.number, view_key);
        if let Some(count) = self.outsider_counts.get(&key) {
            return Ok(count);
        }
        if dataset.view.as_ref().is_none_or(|v| v.condition.is_none()) {
            self.outsider_counts.put(key, record.version.records_count);
            return Ok(record.version.records_count);
        }
        let query = RecordsQuery { limit: Some(0), ..RecordsQuery::default() };
        let planned = self.engine.plan(&dataset, &query).await?;
        let (total, _) = self.timed(self.engine.page(planned)).await?;
        let count = i64::try_from(total).unwrap_or(i64::MAX);
        self.outsider_counts.put(key, count);
        Ok(count)
    }

    /// Sets (or with `None`, removes) the access rule of dataset `id` for outsiders, after
    /// checking it against the fields of its current version: every hidden field must exist,
    /// one field at least must stay visible, and the condition must be an ODSQL `where` that
    /// plans over the stored fields and does not depend on the time or on chance. A rule that
    /// fails a check is refused ([`Error::BadParameter`], saying what and how to fix it) and
    /// nothing changes; a change is written to the audit log (`dataset.rule`).
    pub async fn set_rule(
        &self,
        ctx: &RequestContext,
        actor: &kleber_store::Actor,
        id: &str,
        rule: Option<AccessRule>,
    ) -> Result<(), Error> {
        let version = self.dataset(ctx, id).await?;
        if !ctx.principal.may_edit(version.record()) {
            return Err(Error::Forbidden(format!("you may not edit dataset {id}")));
        }
        // Checked against the whole stored record (an editor's key without the `read` scope
        // resolves the outsiders' copy).
        let store = Arc::clone(&self.store);
        let lookup = id.to_owned();
        let record = tokio::task::spawn_blocking(move || store.catalog().get_dataset(&lookup))
            .await
            .map_err(Error::internal)??
            .ok_or_else(|| Error::DatasetNotFound(id.to_owned()))?;
        let rule = rule.map(normalized).filter(|r| !r.is_empty());
        if let Some(rule) = &rule {
            self.check_rule(&record, rule).await?;
        }
        let store = Arc::clone(&self.store);
        let (actor, id) = (actor.clone(), id.to_owned());
        tokio::task::spawn_blocking(move || {
            store.account_change(|c| c.set_rule(&actor, &id, rule.as_ref()))
        })
        .await
        .map_err(Error::internal)?
        .map_err(Error::from)
    }

    async fn check_rule(&self, record: &DatasetRecord, rule: &AccessRule) -> Result<(), Error> {
        let fields = &record.version.fields;
        let names = || fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ");
        for name in &rule.hidden {
            if !fields.iter().any(|f| &f.name == name) {
                return Err(Error::BadParameter(format!(
                    "unknown field {name:?} to hide in dataset {}: its fields are {}",
                    record.id,
                    names()
                )));
            }
        }
        if fields.iter().all(|f| rule.hidden.contains(&f.name)) {
            return Err(Error::BadParameter(format!(
                "the rule hides every field of dataset {}: leave one field at least visible, or make the dataset restricted",
                record.id
            )));
        }
        if let Some(condition) = &rule.condition {
            if kleber_odsql::volatile::param_is_volatile("where", condition) {
                return Err(Error::BadParameter(format!(
                    "the rule's condition {condition:?} calls now() or random(): outsiders' answers would change from call to call; write fixed dates or values"
                )));
            }
            let whole = DatasetRef {
                uid: record.uid.clone(),
                version: record.version.number,
                data_path: record.version.data_path.clone(),
                fields: fields.clone(),
                view: None,
            };
            let query = RecordsQuery {
                r#where: vec![condition.clone()],
                limit: Some(0),
                ..RecordsQuery::default()
            };
            if let Err(e) = self.engine.plan(&whole, &query).await {
                return Err(Error::BadParameter(format!(
                    "the rule's condition {condition:?} is not a valid ODSQL where clause over dataset {}'s fields ({}): {e}",
                    record.id,
                    names()
                )));
            }
        }
        Ok(())
    }
}

/// `rule` with its hidden fields sorted and without repeats, and a blank condition removed.
fn normalized(mut rule: AccessRule) -> AccessRule {
    rule.hidden.sort();
    rule.hidden.dedup();
    rule.condition = rule.condition.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    rule
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_is_normalized() {
        let rule = AccessRule {
            hidden: vec!["b".to_owned(), "a".to_owned(), "b".to_owned()],
            condition: Some("  ".to_owned()),
        };
        let rule = normalized(rule);
        assert_eq!(rule.hidden, ["a", "b"]);
        assert_eq!(rule.condition, None);
        assert!(normalized(AccessRule::default()).is_empty());
    }
}
