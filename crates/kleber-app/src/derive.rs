//! Derived datasets (docs/crossing.md): a dataset defined as a SQL query over other datasets,
//! materialised as an ordinary dataset whose versions are computed by running the query
//! ([`kleber_query::Engine::derive`]) and published through the ordinary publication
//! ([`crate::import::begin`], [`crate::import::publish_read`]).
//!
//! - Defining ([`App::define_derivation`]): the query is checked, every input must be readable
//!   by the definer, a cycle through other derivations is refused, and the first version is
//!   computed before anything is stored (a query that fails changes nothing).
//! - Each version records the exact input versions it read (`derived_versions`, and
//!   `metas.default.derived_from` in the dataset object).
//! - Inputs are read with the definer's rights (the operator's for `kleber derive`), through
//!   the same views as the API (hidden fields and rows of access rules).
//! - Recomputation ([`App::run_due_derivations`], driven by [`spawn_deriver`]): when the
//!   current versions of a derivation's inputs differ from those its current version read,
//!   it is due after a debounce delay (each further change pushes it back); a failure keeps
//!   the last good version and records why (`last_error`).
//! - Visibility (`Derivations::gate`): a derived dataset is seen only by callers who may
//!   read (whole) every input that is not public or that the definer saw past its access
//!   rule, unless an admin of every such input's organization allowed it
//!   ([`App::allow_derivation`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kleber_query::derive::{DeriveError, DeriveInput, DeriveLimits, Refusal};
use kleber_store::{DatasetRecord, DerivationRecord, NewDerivation, Visibility};
use serde_json::{Value, json};

use crate::manage::Editor;
use crate::policy::{Account, DatasetAccess};
use crate::{App, CatalogSnapshot, Error, Principal, RequestContext};

/// Default delay between an input's publication and the recomputation.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_secs(2);

/// The state of recomputations: the debounce delay, what is due when, and the gates by
/// catalog generation.
pub struct Derivations {
    debounce: Mutex<Duration>,
    limits: Mutex<DeriveLimits>,
    /// Derived dataset id → (input versions seen, when the recomputation is due).
    due: Mutex<HashMap<String, (String, Instant)>>,
    /// Input versions of the last computation attempted per derived dataset (a failing one
    /// is not retried until an input changes again).
    attempted: Mutex<HashMap<String, String>>,
    /// Gates of the catalog generation they were read at.
    gates: Mutex<Option<(i64, Gates)>>,
    /// One computation at a time.
    running: tokio::sync::Mutex<()>,
}

/// Derived dataset id → the datasets that restrict who may read it.
type Gates = Arc<HashMap<String, Vec<String>>>;

impl Default for Derivations {
    fn default() -> Self {
        Derivations {
            debounce: Mutex::new(DEFAULT_DEBOUNCE),
            limits: Mutex::new(DeriveLimits::default()),
            due: Mutex::default(),
            attempted: Mutex::default(),
            gates: Mutex::default(),
            running: tokio::sync::Mutex::new(()),
        }
    }
}

/// Lineage both ways within one catalog snapshot (docs/crossing.md#lineage), called when the
/// snapshot of an audience is built, so it names only datasets that audience reads: each
/// derived dataset's `derived_from` (and `derived_from_versions`) keeps the inputs present in
/// `records`, and each dataset gets `derived_datasets`, the identifiers of the datasets of
/// `records` derived from it (absent when none). `records` are ordered by identifier, and the
/// lists follow that order. The records' stamps are computed after, so an `ETag` changes when
/// a dataset derived from this one appears or goes for that audience.
pub(crate) fn lineage_both_ways(records: &mut [DatasetRecord]) {
    let present: BTreeSet<String> = records.iter().map(|r| r.id.clone()).collect();
    let mut derived: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for record in records.iter_mut() {
        record.metas.remove("derived_datasets");
        let Some(Value::Array(inputs)) = record.metas.get_mut("derived_from") else { continue };
        inputs.retain(|i| i.as_str().is_some_and(|i| present.contains(i)));
        for input in inputs.iter().filter_map(Value::as_str) {
            derived.entry(input.to_owned()).or_default().push(json!(record.id));
        }
        if let Some(Value::Object(versions)) = record.metas.get_mut("derived_from_versions") {
            versions.retain(|i, _| present.contains(i));
        }
    }
    for record in records.iter_mut() {
        if let Some(list) = derived.remove(&record.id) {
            record.metas.insert("derived_datasets".to_owned(), Value::Array(list));
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Derivations {
    /// Keeps from `visible` (positions in `full`, as [`CatalogSnapshot::visible_to`] gives
    /// them) the derived datasets `principal` may see: every gated input readable, whole.
    pub(crate) fn gate(
        &self,
        store: &kleber_store::Store,
        full: &CatalogSnapshot,
        visible: Vec<usize>,
        principal: &Principal,
    ) -> Result<Vec<usize>, Error> {
        if matches!(principal, Principal::Operator) {
            return Ok(visible);
        }
        let gates = {
            let cached = lock(&self.gates);
            cached
                .as_ref()
                .filter(|(g, _)| *g == full.generation)
                .map(|(_, gates)| Arc::clone(gates))
        };
        let gates = match gates {
            Some(gates) => gates,
            None => {
                let mut map = HashMap::new();
                for d in store.catalog().derivations().map_err(Error::from)? {
                    if d.allowed_by.is_none() && !d.gate.is_empty() {
                        map.insert(d.dataset_uid, d.gate);
                    }
                }
                let map = Arc::new(map);
                *lock(&self.gates) = Some((full.generation, Arc::clone(&map)));
                map
            }
        };
        if gates.is_empty() {
            return Ok(visible);
        }
        let by_uid: HashMap<&str, &DatasetRecord> =
            full.records.iter().map(|r| (r.uid.as_str(), r)).collect();
        let sees = |uid: &String| {
            by_uid
                .get(uid.as_str())
                .is_some_and(|r| principal.may_read(r) && !crate::rules::is_outsider(principal, r))
        };
        Ok(visible
            .into_iter()
            .filter(|&v| {
                gates.get(&full.records[v >> 1].uid).is_none_or(|inputs| inputs.iter().all(sees))
            })
            .collect())
    }
}

/// A derivation as the management API and the back office show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DerivationInfo {
    /// The derived dataset.
    pub dataset_id: String,
    /// The SQL query.
    pub query: String,
    /// The datasets it reads.
    pub inputs: Vec<String>,
    /// Whose rights the inputs are read with (`null`: the operator).
    pub definer: Option<String>,
    /// The input versions its current version was computed from.
    pub input_versions: BTreeMap<String, i64>,
    /// The version it serves.
    pub version: Option<i64>,
    /// Inputs (identifiers) whose readers bound who may read it.
    pub restricted_by: Vec<String>,
    /// Who allowed it to be seen beyond its inputs' readers.
    pub allowed_by: Option<String>,
    /// Why the last recomputation failed (the version served is the last good one).
    pub last_error: Option<String>,
    /// When it failed.
    pub last_error_at: Option<String>,
}

/// The result of one computation.
#[derive(Debug, Clone)]
pub struct Computed {
    /// The version published.
    pub version: i64,
    /// Its rows.
    pub rows: u64,
    /// The input versions read.
    pub inputs: BTreeMap<String, i64>,
}

fn refusal(e: DeriveError) -> Error {
    match e {
        DeriveError::Refused(r) => Error::DerivationRefused(r.to_string()),
        DeriveError::Query(e) => Error::Query(e),
    }
}

fn input_not_found(id: &str) -> Error {
    Error::DerivationInputNotFound(format!(
        "the query reads dataset `{id}`, which does not exist or which the definer may not read"
    ))
}

/// The path `from → ... → to` through `graph` (dataset → inputs), if any.
fn path_to(graph: &BTreeMap<String, Vec<String>>, from: &str, to: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_owned()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().cloned().unwrap_or_default();
        if last == to {
            return Some(path);
        }
        if !seen.insert(last.clone()) {
            continue;
        }
        for next in graph.get(&last).into_iter().flatten() {
            let mut longer = path.clone();
            longer.push(next.clone());
            stack.push(longer);
        }
    }
    None
}

impl App {
    /// The recomputation state (debounce delay, limits).
    pub fn derivations(&self) -> &Derivations {
        &self.derivations
    }

    /// Sets the delay between an input's publication and the recomputation.
    pub fn set_derive_debounce(&self, delay: Duration) {
        *lock(&self.derivations.debounce) = delay;
    }

    /// Sets the bounds of each computation.
    pub fn set_derive_limits(&self, limits: DeriveLimits) {
        *lock(&self.derivations.limits) = limits;
    }

    /// The principal whose rights a derivation's inputs are read with.
    async fn definer(&self, definer: Option<&str>, inputs: &[String]) -> Result<Principal, Error> {
        let Some(email) = definer else { return Ok(Principal::Operator) };
        let (email, inputs) = (email.to_owned(), inputs.to_vec());
        self.on_store(move |store| {
            let catalog = store.catalog();
            let user = catalog.get_user(&email)?.ok_or_else(|| {
                Error::DerivationInputNotFound(format!(
                    "the definer {email} no longer exists: define the derivation again"
                ))
            })?;
            if user.disabled {
                return Err(Error::DerivationInputNotFound(format!(
                    "the definer {email} is disabled: define the derivation again"
                )));
            }
            let mut memberships = BTreeMap::new();
            for org in catalog.list_orgs()? {
                if let Some((_, role)) =
                    catalog.members(&org.id)?.into_iter().find(|(u, _)| u.id == user.id)
                {
                    memberships.insert(org.id, role);
                }
            }
            let mut grants = BTreeSet::new();
            for id in &inputs {
                if let Some(d) = catalog.get_dataset(id)?
                    && catalog.grants(id)?.iter().any(|u| u.id == user.id)
                {
                    grants.insert(d.uid);
                }
            }
            Ok(Principal::User(Arc::new(Account {
                user_id: user.id,
                email: user.email,
                admin: user.admin,
                memberships,
                grants,
            })))
        })
        .await
    }

    /// Computes a new version of `id` from `query`, reading the inputs as `definer` sees
    /// them, and publishes it; records the input versions and the gate.
    async fn compute(
        &self,
        id: &str,
        query: &str,
        definer: &Principal,
        title: Option<&str>,
        organization: Option<&str>,
    ) -> Result<(Computed, Vec<String>), Error> {
        let checked = kleber_query::derive::check(query)
            .map_err(|r| Error::DerivationRefused(r.to_string()))?;
        let ctx = RequestContext::new(definer.clone());
        let view = self.catalog(&ctx).await?;
        let mut inputs = Vec::new();
        let mut versions = BTreeMap::new();
        let mut gate = Vec::new();
        for input in &checked.inputs {
            if input == id {
                return Err(Error::DerivationCycle(format!(
                    "the derived dataset `{id}` cannot read itself"
                )));
            }
            let dataset =
                App::dataset_in(&ctx, &view, input).map_err(|_| input_not_found(input))?;
            let record = dataset.record();
            if record.visibility != Visibility::Public
                || (record.rule.as_ref().is_some_and(|r| !r.is_empty())
                    && crate::policy::sees_whole(definer, DatasetAccess::from(record)))
            {
                gate.push(record.uid.clone());
            }
            versions.insert(input.clone(), dataset.number());
            inputs.push(DeriveInput { id: input.clone(), dataset: dataset.dataset_ref() });
        }
        let limits = *lock(&self.derivations.limits);
        let access = crate::import::ImportAccess {
            organization: organization.map(str::to_owned),
            visibility: None,
            actor: None,
            comment: None,
        };
        let store = self.store_arc();
        let pending = crate::import::begin(&store, id, &access)
            .map_err(|e| Error::Conflict(format!("{e:#}")))?;
        let data = pending.data_path();
        let derived = self.engine.derive(query, &inputs, &data, limits).await.map_err(refusal)?;
        let publication = crate::import::publish_read(
            pending,
            &data,
            None,
            &derived.fields,
            derived.rows,
            0,
            Some("derivation"),
            title,
            None,
        )
        .map_err(Error::Import)?;
        let recorded = serde_json::to_string(&versions).map_err(Error::internal)?;
        // `derived_from` (identifiers) is what DCAT's `prov:wasDerivedFrom` reads.
        let derived_from: Vec<Value> = versions.keys().map(|d| json!(d)).collect();
        let mut patch = serde_json::Map::new();
        patch.insert("derived_from".to_owned(), Value::Array(derived_from));
        patch.insert("derived_from_versions".to_owned(), json!(versions));
        patch.insert("derivation_error".to_owned(), Value::Null);
        let (uid, version, id_owned) =
            (publication.uid.clone(), publication.version, id.to_owned());
        self.on_store(move |store| {
            store.catalog().record_derived_version(&uid, version, &recorded)?;
            store.update_metas(&id_owned, &patch)?;
            Ok(())
        })
        .await?;
        self.summarize_latest(id).await;
        Ok((Computed { version: publication.version, rows: derived.rows, inputs: versions }, gate))
    }

    /// Defines (or redefines) `id` as `query`, computes its first version with `ctx`'s
    /// rights and stores the definition. Nothing is stored when the query is refused or
    /// fails.
    ///
    /// # Errors
    ///
    /// [`Error::DerivationRefused`], [`Error::DerivationInputNotFound`],
    /// [`Error::DerivationCycle`], [`Error::Forbidden`] (an existing dataset one may not
    /// edit), [`Error::Conflict`] (an existing dataset that is not derived), a query error.
    pub async fn define_derivation(
        &self,
        editor: &Editor,
        id: &str,
        query: &str,
        title: Option<&str>,
        organization: Option<&str>,
    ) -> Result<Computed, Error> {
        let ctx = &RequestContext::new(editor.principal().clone());
        let checked = kleber_query::derive::check(query)
            .map_err(|r: Refusal| Error::DerivationRefused(r.to_string()))?;
        let lookup = id.to_owned();
        let (existing, derivations) = self
            .on_store(move |store| {
                let existing = store.catalog().managed_dataset(&lookup)?;
                Ok((existing, store.catalog().derivations()?))
            })
            .await?;
        if let Some(existing) = &existing {
            let record = store_record(self, id).await?;
            match record {
                Some(record) if !ctx.principal.may_edit(&record) => {
                    return Err(Error::Forbidden(format!(
                        "you may not edit dataset `{id}`: ask an editor of its organization"
                    )));
                }
                _ => {}
            }
            if !derivations.iter().any(|d| d.dataset_id == id) {
                let _ = existing;
                return Err(Error::Conflict(format!(
                    "dataset `{id}` exists and is not derived: choose another identifier"
                )));
            }
        } else {
            if !kleber_store::is_valid_dataset_id(id) {
                return Err(Error::BadParameter(format!(
                    "`{id}` is not a valid dataset identifier: lowercase letters, digits, - and _"
                )));
            }
            let org = match organization {
                Some(org) => org.to_owned(),
                None => self.on_store(|store| Ok(store.catalog().default_org()?)).await?,
            };
            let access =
                DatasetAccess { uid: "", organization: &org, visibility: Visibility::Draft };
            if !crate::policy::may_edit(&ctx.principal, access) {
                return Err(Error::Forbidden(format!(
                    "you may not create datasets in organization `{org}`: an editor of it may (with a key that has the write scope)"
                )));
            }
        }
        for input in &checked.inputs {
            if input == id {
                return Err(Error::DerivationCycle(format!(
                    "{id} → {id}: a dataset cannot read itself"
                )));
            }
            self.dataset(ctx, input).await.map_err(|_| input_not_found(input))?;
        }
        let mut graph: BTreeMap<String, Vec<String>> =
            derivations.iter().map(|d| (d.dataset_id.clone(), d.inputs.clone())).collect();
        graph.insert(id.to_owned(), checked.inputs.iter().cloned().collect());
        for input in &checked.inputs {
            if let Some(path) = path_to(&graph, input, id) {
                return Err(Error::DerivationCycle(format!(
                    "{id} → {}: `{id}` would read itself; remove one of these inputs",
                    path.join(" → ")
                )));
            }
        }
        let definer = ctx.principal.account().map(|a| a.email.clone());
        let _one = self.derivations.running.lock().await;
        let (computed, gate) = self.compute(id, query, &ctx.principal, title, organization).await?;
        let inputs: Vec<String> = checked.inputs.into_iter().collect();
        let actor = editor.actor().clone();
        let (id_owned, query) = (id.to_owned(), query.to_owned());
        let uid_gate = gate.clone();
        self.on_store(move |store| {
            store.account_change(|catalog| {
                catalog.set_derivation(
                    &actor,
                    &id_owned,
                    &NewDerivation { query: &query, inputs: &inputs, definer: definer.as_deref() },
                )?;
                let uid = catalog.derivation(&id_owned)?.map(|d| d.dataset_uid).unwrap_or_default();
                catalog.set_derivation_state(&uid, None, &uid_gate)
            })?;
            Ok(())
        })
        .await?;
        Ok(computed)
    }

    /// The derivation of `id`, as `ctx` may see it (`None`: `id` is not derived).
    pub async fn derivation(
        &self,
        editor: &Editor,
        id: &str,
    ) -> Result<Option<DerivationInfo>, Error> {
        let ctx = RequestContext::new(editor.principal().clone());
        let dataset = self.dataset(&ctx, id).await?;
        let lookup = id.to_owned();
        let (uid, number) = (dataset.uid().to_owned(), dataset.number());
        let found = self
            .on_store(move |store| {
                let Some(d) = store.catalog().derivation(&lookup)? else { return Ok(None) };
                let inputs = store.catalog().derived_version_inputs(&uid, number)?;
                let uids: HashMap<String, String> =
                    store.list_datasets()?.into_iter().map(|r| (r.uid, r.id)).collect();
                Ok(Some((d, inputs, uids)))
            })
            .await?;
        let Some((d, inputs, uids)) = found else { return Ok(None) };
        Ok(Some(info(d, inputs.as_deref(), Some(number), &uids)))
    }

    /// Removes `id`'s definition: it stays as an ordinary dataset with its versions.
    pub async fn clear_derivation(&self, editor: &Editor, id: &str) -> Result<bool, Error> {
        self.editable(editor, id).await?;
        let actor = editor.actor().clone();
        let id = id.to_owned();
        self.on_store(move |store| Ok(store.account_change(|c| c.clear_derivation(&actor, &id))?))
            .await
    }

    /// Lets `id` be seen beyond its inputs' readers (`allow`), or not: only a principal who
    /// administers the organization of every restricting input may.
    pub async fn allow_derivation(
        &self,
        editor: &Editor,
        id: &str,
        allow: bool,
    ) -> Result<(), Error> {
        let ctx = RequestContext::new(editor.principal().clone());
        self.dataset(&ctx, id).await?;
        let lookup = id.to_owned();
        let (d, records) = self
            .on_store(move |store| {
                let d = store.catalog().derivation(&lookup)?;
                Ok((d, store.list_datasets()?))
            })
            .await?;
        let Some(d) = d else {
            return Err(Error::Conflict(format!("dataset `{id}` is not derived")));
        };
        for uid in &d.gate {
            let org = records.iter().find(|r| &r.uid == uid).map(|r| r.organization.clone());
            if !org.is_some_and(|org| ctx.principal.may_admin(&org)) {
                return Err(Error::Forbidden(
                    "only an admin of the organization of every restricted input may allow a derived dataset to be seen by more readers"
                        .to_owned(),
                ));
            }
        }
        let actor = editor.actor().clone();
        let by = allow.then(|| {
            ctx.principal.account().map_or_else(|| "operator".to_owned(), |a| a.email.clone())
        });
        let id = id.to_owned();
        self.on_store(move |store| {
            Ok(store.account_change(|c| c.allow_derivation(&actor, &id, by.as_deref()))?)
        })
        .await
    }

    /// Recomputes `id` now for `editor` (who must be able to edit it).
    pub async fn refresh_derivation(&self, editor: &Editor, id: &str) -> Result<Computed, Error> {
        self.editable(editor, id).await?;
        self.recompute_derivation(id).await
    }

    /// Dataset `id`, refused unless `editor` may edit it (not readable: not found).
    async fn editable(&self, editor: &Editor, id: &str) -> Result<(), Error> {
        let ctx = RequestContext::new(editor.principal().clone());
        let dataset = self.dataset(&ctx, id).await?;
        if !ctx.principal.may_edit(dataset.record()) {
            return Err(Error::Forbidden(format!(
                "you may not edit dataset `{id}`: ask an editor of its organization"
            )));
        }
        Ok(())
    }

    /// Recomputes `id` now with its definition; on failure records why and keeps the
    /// current version.
    pub async fn recompute_derivation(&self, id: &str) -> Result<Computed, Error> {
        let lookup = id.to_owned();
        let d = self
            .on_store(move |store| Ok(store.catalog().derivation(&lookup)?))
            .await?
            .ok_or_else(|| Error::Conflict(format!("dataset `{id}` is not derived")))?;
        let _one = self.derivations.running.lock().await;
        let outcome = match self.definer(d.definer.as_deref(), &d.inputs).await {
            Ok(definer) => self.compute(id, &d.query, &definer, None, None).await,
            Err(e) => Err(e),
        };
        let uid = d.dataset_uid.clone();
        match outcome {
            Ok((computed, gate)) => {
                self.on_store(move |store| {
                    Ok(store.account_change(|c| c.set_derivation_state(&uid, None, &gate))?)
                })
                .await?;
                Ok(computed)
            }
            Err(e) => {
                let message = e.to_string();
                tracing::warn!(dataset = %id, error = %message, "derivation failed; the last good version stays");
                let gate = d.gate.clone();
                let id_owned = id.to_owned();
                self.on_store(move |store| {
                    store
                        .account_change(|c| c.set_derivation_state(&uid, Some(&message), &gate))?;
                    // Shown in the dataset object: the version served is the last good one.
                    let mut patch = serde_json::Map::new();
                    patch.insert("derivation_error".to_owned(), json!(message));
                    store.update_metas(&id_owned, &patch)?;
                    Ok(())
                })
                .await?;
                Err(e)
            }
        }
    }

    /// One tick of the recomputation loop at `now`: notes the derivations whose inputs
    /// changed since their current version (due after the debounce delay, pushed back by a
    /// further change), and recomputes those due. Returns the datasets recomputed, with
    /// their outcome.
    pub async fn run_due_derivations(
        &self,
        now: Instant,
    ) -> Vec<(String, Result<Computed, Error>)> {
        let stale = match self.stale_derivations().await {
            Ok(stale) => stale,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the derivations");
                return Vec::new();
            }
        };
        let debounce = *lock(&self.derivations.debounce);
        let mut ready = Vec::new();
        {
            let mut due = lock(&self.derivations.due);
            let attempted = lock(&self.derivations.attempted);
            due.retain(|id, _| stale.contains_key(id));
            for (id, seen) in &stale {
                if attempted.get(id) == Some(seen) {
                    continue;
                }
                match due.get(id) {
                    Some((before, _)) if before == seen => {}
                    _ => {
                        due.insert(id.clone(), (seen.clone(), now + debounce));
                    }
                }
            }
            for (id, (seen, at)) in due.iter() {
                if *at <= now {
                    ready.push((id.clone(), seen.clone()));
                }
            }
            for (id, _) in &ready {
                due.remove(id);
            }
        }
        let mut out = Vec::new();
        for (id, seen) in ready {
            lock(&self.derivations.attempted).insert(id.clone(), seen);
            let result = self.recompute_derivation(&id).await;
            out.push((id, result));
        }
        out
    }

    /// Derivations whose inputs' current versions differ from those their current version
    /// read, with a digest of the versions now current.
    async fn stale_derivations(&self) -> Result<HashMap<String, String>, Error> {
        let ctx = RequestContext::operator();
        let view = self.catalog(&ctx).await?;
        let current: HashMap<String, i64> =
            view.records().iter().map(|r| (r.id.clone(), r.version.number)).collect();
        let served: HashMap<String, (String, i64)> = view
            .records()
            .iter()
            .map(|r| (r.id.clone(), (r.uid.clone(), r.version.number)))
            .collect();
        self.on_store(move |store| {
            let mut stale = HashMap::new();
            for d in store.catalog().derivations()? {
                let now: BTreeMap<&str, Option<i64>> =
                    d.inputs.iter().map(|i| (i.as_str(), current.get(i).copied())).collect();
                let Some((uid, version)) = served.get(&d.dataset_id) else { continue };
                let read: BTreeMap<String, i64> = store
                    .catalog()
                    .derived_version_inputs(uid, *version)?
                    .and_then(|s| serde_json::from_str(&s).ok())
                    .unwrap_or_default();
                let changed = now.iter().any(|(i, v)| read.get(*i).copied() != *v);
                if changed {
                    stale.insert(d.dataset_id.clone(), format!("{now:?}"));
                }
            }
            Ok(stale)
        })
        .await
    }
}

async fn store_record(app: &App, id: &str) -> Result<Option<DatasetRecord>, Error> {
    let id = id.to_owned();
    app.on_store(move |store| Ok(store.catalog().get_dataset(&id)?)).await
}

fn info(
    d: DerivationRecord,
    inputs: Option<&str>,
    version: Option<i64>,
    uids: &HashMap<String, String>,
) -> DerivationInfo {
    DerivationInfo {
        dataset_id: d.dataset_id,
        query: d.query,
        inputs: d.inputs,
        definer: d.definer,
        input_versions: inputs.and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default(),
        version,
        restricted_by: d
            .gate
            .iter()
            .map(|u| uids.get(u).cloned().unwrap_or_else(|| u.clone()))
            .collect(),
        allowed_by: d.allowed_by,
        last_error: d.last_error,
        last_error_at: d.last_error_at,
    }
}

/// Runs [`App::run_due_derivations`] every `tick` until the app is dropped (the task of
/// `kleber serve`).
pub fn spawn_deriver(app: Arc<App>, tick: Duration) -> tokio::task::JoinHandle<()> {
    let weak = Arc::downgrade(&app);
    drop(app);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let Some(app) = weak.upgrade() else { return };
            let _ = app.run_due_derivations(Instant::now()).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_found_through_other_derivations() {
        let graph: BTreeMap<String, Vec<String>> = [
            ("a".to_owned(), vec!["b".to_owned()]),
            ("b".to_owned(), vec!["c".to_owned(), "x".to_owned()]),
            ("c".to_owned(), vec!["a".to_owned()]),
        ]
        .into_iter()
        .collect();
        assert_eq!(path_to(&graph, "b", "a").unwrap(), ["b", "c", "a"]);
        assert!(path_to(&graph, "x", "a").is_none());
    }
}
