//! The map's use case: every record of a dataset's geo field under a query's filters, as
//! clusters of a grid over a viewport, and the records themselves where a cell holds few
//! (see `kleber_query::geo_cluster`). The portal's map and the v1 `geocluster` API both
//! answer from it.

use kleber_query::RecordsQuery;
pub use kleber_query::geo_cluster::{
    Cluster, ClusterRequest, Grid, LEVELS_ABOVE_ZOOM, MAX_LEVEL, MAX_ZOOM, Viewport,
};

use crate::{App, DatasetVersion, Error, Page, RequestContext, encoder_for};

/// Clusters of one viewport.
#[derive(Debug)]
pub struct MapClusters {
    /// Cells answered as clusters, largest first.
    pub clusters: Vec<Cluster>,
    /// The records of the cells answered one by one (`None` when there are none).
    pub records: Option<Page>,
    /// Records in the viewport matching the filters: the clusters' counts and the records.
    pub total: u64,
}

impl App {
    /// The records of `version` matching `query`'s filters (`where`, `refine`, `exclude`;
    /// its `select` chooses the fields of the records answered one by one), clustered as
    /// `request` says. One aggregation in the engine, then, when some cells hold few
    /// records, one read of exactly those rows; both under the query time limit.
    pub async fn clusters(
        &self,
        ctx: &RequestContext,
        version: &DatasetVersion,
        query: &RecordsQuery,
        request: &ClusterRequest,
    ) -> Result<MapClusters, Error> {
        let query = App::zoned(ctx, query);
        let dataset = version.dataset_ref();
        let answer = self.timed(self.engine.clusters(&dataset, &query, request)).await?;
        let mut total: u64 = answer.clusters.iter().map(|c| c.count).sum();
        let records = match answer.leaves {
            None => None,
            Some(planned) => {
                let columns = planned.columns.clone();
                let encoder = encoder_for(&columns, ctx.tz);
                let batches = self.timed(self.engine.collect(planned)).await?;
                let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
                total += rows;
                Some(Page { columns, encoder, batches, total: rows })
            }
        };
        Ok(MapClusters { clusters: answer.clusters, records, total })
    }
}
