//! Export bodies, shared by every front end that serves files (Explore v2.1 and v2.0
//! exports, the catalog export, v1 downloads and the legacy download URL).
//!
//! Text formats (CSV, JSON, JSON Lines, GeoJSON, KML) are encoded batch by batch from
//! DataFusion's stream as the body is sent. Formats with a footer or an index (XLSX, Parquet,
//! zipped shapefiles, GPX, FlatGeobuf) are spooled batch by batch to a temporary file under the
//! data directory (`tmp/exports`), on blocking threads, and the file is then streamed. Either
//! way memory does not grow with the dataset; there is no size limit. `compressed=true` gzips
//! the body as it goes.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use kleber_app::{DatasetVersion, Export, RequestContext};
use kleber_export::{
    CsvOptions, ExportFormat, ExportOptions, ExportWriter, GeoJsonStyle, GpxOptions, GzipChunks,
    ParquetCompression, RDF_RECORD_ID, RdfOptions, RecordWriter, SpoolDir, SpoolWriter,
    export_writer, geometry_column,
};
use kleber_query::{RecordBatch, RecordBatchStream};
use kleber_types::{ErrorCode, FieldType};
use tokio::io::AsyncReadExt;

use crate::error::ApiError;
use crate::http::PublicUrl;
use crate::shared::datapackage::{dataset_url, package_info};
use crate::shared::params::Params;
use crate::shared::stall::watched;
use crate::state::AppState;

/// Bytes read from a spooled file per body chunk.
const FILE_CHUNK: usize = 256 * 1024;

/// The CSV parameters (`delimiter`, `list_separator`, `quote_all`, `with_bom`, `use_labels`).
pub fn csv_options(params: &Params) -> Result<CsvOptions, ApiError> {
    let mut options = CsvOptions::default();
    if let Some(d) = params.get("delimiter") {
        options.delimiter = match d {
            ";" => b';',
            "," => b',',
            "\t" | "\\t" => b'\t',
            "|" => b'|',
            other => {
                return Err(ApiError::bad_param(format!(
                    "Invalid value for delimiter API parameter: {other:?} was found but one of \";\", \",\", \"\\t\", \"|\" is expected."
                )));
            }
        };
    }
    if let Some(sep) = params.get("list_separator") {
        options.list_separator = sep.to_owned();
    }
    options.quote_all = params.bool("quote_all", false)?;
    options.with_bom = params.bool("with_bom", true)?;
    options.use_labels = params.bool("use_labels", false)?;
    Ok(options)
}

/// The format-specific parameters of an export named `name`.
pub fn export_options(
    state: &AppState,
    params: &Params,
    name: &str,
) -> Result<ExportOptions, ApiError> {
    let parquet_compression = match params.get("parquet_compression") {
        None => ParquetCompression::default(),
        Some(v) => ParquetCompression::from_name(v).ok_or_else(|| {
            let names: Vec<_> = ParquetCompression::ALL.iter().map(|(n, _)| *n).collect();
            ApiError::bad_param(format!(
                "Invalid value for parquet_compression API parameter: {v} was found but one of {} is expected.",
                names.join(", ")
            ))
        })?,
    };
    let description_fields = params
        .get("description_field_list")
        .map(|list| {
            list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
        })
        .unwrap_or_default();
    let gpx = GpxOptions {
        name_field: params
            .get("name_field")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        description_fields,
        use_extension: params.bool("use_extension", true)?,
    };
    Ok(ExportOptions {
        name: name.to_owned(),
        csv: csv_options(params)?,
        parquet_compression,
        gpx,
        geojson: GeoJsonStyle::V21,
        spool: state.spool.spool_dir(),
        ..ExportOptions::default()
    })
}

/// A writer error: a user mistake (a GPX parameter naming an unknown column) is a 400, the
/// rest is internal.
fn writer_error(e: kleber_export::Error) -> ApiError {
    match e {
        kleber_export::Error::UnknownColumn { key } => ApiError::bad_param(format!(
            "Invalid value for a GPX API parameter: {key} is not a field of the export."
        )),
        other => other.into(),
    }
}

/// The export of `version` in `format` under the v2.1 export parameters `params` (`select`,
/// `where`, `order_by`, `refine`, `exclude`, `limit`, `offset`, `compressed`, the format's
/// own parameters): the one export path of every front end.
///
/// `base` is the request's base URL: RDF formats name records under it, and the
/// `datapackage` descriptor points at it.
pub async fn export_dataset(
    state: &AppState,
    ctx: &RequestContext,
    version: &DatasetVersion,
    format: ExportFormat,
    params: &Params,
    base: Option<&PublicUrl>,
) -> Result<Response, ApiError> {
    export_dataset_styled(state, ctx, version, format, params, GeoJsonStyle::V21, base).await
}

/// [`export_dataset`] with GeoJSON in `geojson` style (the legacy downloads ask
/// [`GeoJsonStyle::V1`]).
pub async fn export_dataset_styled(
    state: &AppState,
    ctx: &RequestContext,
    version: &DatasetVersion,
    format: ExportFormat,
    params: &Params,
    geojson: GeoJsonStyle,
    base: Option<&PublicUrl>,
) -> Result<Response, ApiError> {
    let limit = params.export_limit()?;
    let offset = params.int("offset")?.unwrap_or(0).max(0) as usize;
    let compressed = params.bool("compressed", false)?;
    let id = version.id();
    let mut options = export_options(state, params, id)?;
    options.geojson = geojson;
    let mut query = params.records_query(limit, offset);
    let base = match base {
        Some(base) => Some(base),
        None if format.is_rdf() || format == ExportFormat::DataPackage => {
            return Err(ApiError::internal("the request has no base URL"));
        }
        None => None,
    };
    if let (true, Some(base)) = (format.is_rdf(), base) {
        // Each record is named by its id (no id for grouped rows: blank nodes).
        if !params.grouped() {
            query.record_id_column = Some(RDF_RECORD_ID.to_owned());
        }
        options.rdf = RdfOptions { dataset_iri: dataset_url(base, id) };
    }
    if let (ExportFormat::DataPackage, Some(base)) = (format, base) {
        options.datapackage = Some(package_info(version, base));
    }
    let export = state.app.export(ctx, version, &query).await?;
    if format.needs_geometry() && geometry_column(export.encoder.columns()).is_none() {
        let has_geo = version
            .fields()
            .iter()
            .any(|f| matches!(f.field_type, FieldType::GeoPoint2d | FieldType::GeoShape));
        let why = if has_geo {
            "the select parameter leaves out its geo_point_2d and geo_shape fields".to_owned()
        } else {
            format!("dataset {id} has no geo_point_2d or geo_shape field")
        };
        return Err(ApiError::bad_param(format!(
            "Invalid value for format API parameter: the {} export needs a geometry, but {why}. Formats available without a geometry: {}.",
            format.name(),
            ExportFormat::without_geometry().join(", ")
        )));
    }
    export_response(format, id, compressed, export, &options, state.export_stall)
}

/// The format named `name` among `formats`, or the 404 listing them.
pub fn parse_format(name: &str, formats: &[ExportFormat]) -> Result<ExportFormat, ApiError> {
    ExportFormat::from_name(name).filter(|f| formats.contains(f)).ok_or_else(|| {
        let names: Vec<_> = formats.iter().map(|f| f.name()).collect();
        ApiError::new(
            ErrorCode::NotFound,
            format!("Unknown export format: {name}. Available formats: {}.", names.join(", ")),
        )
    })
}

/// Answers an export already at its first batch (so that a query failing at once got an
/// error status rather than a truncated 200): streams the body in `format`, gzipped when
/// `compressed`, as the attachment `<name>.<ext>` (`.gz` added when compressed). A client
/// that takes no chunk for `stall` loses the body and what it holds ([`watched`]).
pub fn export_response(
    format: ExportFormat,
    name: &str,
    compressed: bool,
    export: Export,
    options: &ExportOptions,
    stall: Duration,
) -> Result<Response, ApiError> {
    let Export { encoder, first, stream, .. } = export;
    let schema = stream.schema();
    let writer = export_writer(format, encoder, &schema, options).map_err(writer_error)?;
    let gzip = compressed.then(GzipChunks::new);
    let started = Instant::now();
    let label = format.name();
    let body = match writer {
        ExportWriter::Stream(writer) => {
            Body::from_stream(watched(streamed(first, stream, writer, gzip), stall))
        }
        ExportWriter::Spool(writer) => {
            // The spool's slot and files live as long as the body: a client that goes away
            // drops it, and one that stops reading has it dropped, which gives them back.
            let spool = options.spool.clone();
            let body = spooled(first, stream, writer, gzip, label, started, spool);
            Body::from_stream(watched(body, stall))
        }
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    let (content_type, filename) = if compressed {
        ("application/gzip", format!("{name}.{}.gz", format.extension()))
    } else {
        (format.content_type(), format!("{name}.{}", format.extension()))
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Dataset ids are slugs; anything else is replaced rather than risking a broken header.
    let safe: String = filename
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

fn io_error(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// Applies gzip (if any) to a chunk.
fn squeeze(gzip: &mut Option<GzipChunks>, chunk: Vec<u8>) -> Result<Bytes, std::io::Error> {
    match gzip {
        Some(gzip) => gzip.compress(&chunk).map(Bytes::from).map_err(io_error),
        None => Ok(Bytes::from(chunk)),
    }
}

/// The body of a streamed format: the prologue and first batch, one chunk per batch, then the
/// epilogue (and the gzip trailer). An error in the middle ends the body early: the status
/// line is already sent, so the client sees a truncated transfer (and the error is logged).
fn streamed(
    first: Option<RecordBatch>,
    stream: RecordBatchStream,
    writer: Box<dyn RecordWriter + Send>,
    gzip: Option<GzipChunks>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    struct S {
        first: Option<RecordBatch>,
        began: bool,
        stream: RecordBatchStream,
        writer: Box<dyn RecordWriter + Send>,
        gzip: Option<GzipChunks>,
    }
    let state = S { first, began: false, stream, writer, gzip };
    futures::stream::unfold(Some(state), |state| async move {
        let mut s = state?;
        let mut chunk = Vec::new();
        if !s.began {
            s.began = true;
            let result = s.writer.begin(&mut chunk).and_then(|()| match s.first.take() {
                Some(batch) => s.writer.write_batch(&batch, &mut chunk),
                None => Ok(()),
            });
            if let Err(e) = result {
                tracing::error!(error = %e, "export encoding failed");
                return Some((Err(io_error(e)), None));
            }
            let out = squeeze(&mut s.gzip, chunk);
            return Some((out, Some(s)));
        }
        match s.stream.next().await {
            Some(Ok(batch)) => match s.writer.write_batch(&batch, &mut chunk) {
                Ok(()) => {
                    let out = squeeze(&mut s.gzip, chunk);
                    Some((out, Some(s)))
                }
                Err(e) => {
                    tracing::error!(error = %e, "export encoding failed");
                    Some((Err(io_error(e)), None))
                }
            },
            Some(Err(e)) => {
                tracing::error!(error = %e, "export query failed");
                Some((Err(io_error(e)), None))
            }
            None => {
                let tail =
                    s.writer.finish(&mut chunk).map_err(io_error).and_then(|()| {
                        match &mut s.gzip {
                            Some(gzip) => {
                                let mut out = gzip.compress(&chunk).map_err(io_error)?;
                                out.extend(gzip.finish().map_err(io_error)?);
                                Ok(Bytes::from(out))
                            }
                            None => Ok(Bytes::from(chunk)),
                        }
                    });
                Some((tail, None))
            }
        }
    })
}

/// Writes every batch into a spool writer on blocking threads and returns the finished file.
async fn spool(
    first: Option<RecordBatch>,
    mut stream: RecordBatchStream,
    mut writer: Box<dyn SpoolWriter + Send>,
    dir: &SpoolDir,
) -> Result<std::fs::File, std::io::Error> {
    let mut next = first;
    loop {
        dir.check().map_err(io_error)?;
        let batch = match next.take() {
            Some(batch) => batch,
            None => match stream.next().await {
                Some(Ok(batch)) => batch,
                Some(Err(e)) => return Err(io_error(e)),
                None => break,
            },
        };
        writer = tokio::task::spawn_blocking(move || {
            writer.write_batch(&batch).map(|()| writer).map_err(io_error)
        })
        .await
        .map_err(io_error)??;
    }
    tokio::task::spawn_blocking(move || writer.finish().map_err(io_error))
        .await
        .map_err(io_error)?
}

/// The body of a spooled format: nothing until the file is complete, then the file in chunks.
fn spooled(
    first: Option<RecordBatch>,
    stream: RecordBatchStream,
    writer: Box<dyn SpoolWriter + Send>,
    gzip: Option<GzipChunks>,
    format: &'static str,
    started: Instant,
    dir: SpoolDir,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    enum S {
        Writing(Option<RecordBatch>, RecordBatchStream, Box<dyn SpoolWriter + Send>),
        Reading(tokio::fs::File),
    }
    let initial = (S::Writing(first, stream, writer), gzip, dir);
    futures::stream::unfold(Some(initial), move |state| async move {
        let (s, mut gzip, dir) = state?;
        let mut file = match s {
            S::Writing(first, stream, writer) => match spool(first, stream, writer, &dir).await {
                Ok(file) => {
                    tracing::debug!(
                        format,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "export spooled"
                    );
                    tokio::fs::File::from_std(file)
                }
                Err(e) => {
                    tracing::error!(error = %e, format, "export spooling failed");
                    return Some((Err(e), None));
                }
            },
            S::Reading(file) => file,
        };
        let mut buffer = vec![0; FILE_CHUNK];
        match file.read(&mut buffer).await {
            Ok(0) => match gzip.as_mut().map(GzipChunks::finish) {
                Some(Ok(tail)) => Some((Ok(Bytes::from(tail)), None)),
                Some(Err(e)) => Some((Err(io_error(e)), None)),
                None => None,
            },
            Ok(n) => {
                buffer.truncate(n);
                let out = squeeze(&mut gzip, buffer);
                Some((out, Some((S::Reading(file), gzip, dir))))
            }
            Err(e) => {
                tracing::error!(error = %e, format, "reading the spooled export failed");
                Some((Err(e), None))
            }
        }
    })
}
