//! `gzip` and `br` response compression, when the client asks for it (`Accept-Encoding`).
//!
//! Bodies are compressed as they stream, so exports still leave the server batch by batch.
//! Already-compressed bodies are sent as they are: by content type (zip, gzip, Parquet,
//! XLSX, ...) or by the file name of `Content-Disposition`, and anything that already has a
//! `Content-Encoding` (tower-http never compresses twice).

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, HttpBody};
use axum::http::{HeaderMap, StatusCode, Version, header};
use axum::response::Response;
use http_body::{Frame, SizeHint};
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// Content types whose bodies are already compressed (compared without parameters).
pub const COMPRESSED_TYPES: &[&str] = &[
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/zstd",
    "application/x-bzip2",
    "application/x-xz",
    "application/x-7z-compressed",
    "application/vnd.apache.parquet",
    "application/x-parquet",
    "application/parquet",
    "application/vnd.google-earth.kmz",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/x-protobuf",
    "application/vnd.mapbox-vector-tile",
];

/// File extensions of already-compressed files, for bodies sent as attachments.
pub const COMPRESSED_EXTENSIONS: &[&str] = &[
    "zip", "gz", "gzip", "tgz", "zst", "bz2", "xz", "7z", "parquet", "xlsx", "ods", "kmz", "pbf",
    "mvt",
];

/// Compression level of both codecs. Brotli's default (11) compresses at 0.2 MB/s, gzip's (6)
/// at about 10 MB/s on CSV: slower than the exports they would compress. Level 1 keeps both
/// above 40 MB/s with brotli still smaller than gzip 6 (measurements in docs/http.md); like
/// nginx's default `gzip_comp_level 1`.
pub const LEVEL: i32 = 1;

/// Whether a response with these headers carries an already-compressed body.
pub fn is_compressed(headers: &HeaderMap) -> bool {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default();
    if COMPRESSED_TYPES.contains(&content_type.as_str()) {
        return true;
    }
    let file_name = headers
        .get(header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.rsplit_once("filename=").map(|(_, name)| name.trim_matches(['"', ' ', ';']))
        })
        .unwrap_or_default()
        .to_ascii_lowercase();
    file_name
        .rsplit_once('.')
        .is_some_and(|(_, extension)| COMPRESSED_EXTENSIONS.contains(&extension))
}

/// The predicate: tower-http's default (not tiny bodies, images, event streams) and not
/// already-compressed bodies.
fn predicate() -> impl Predicate {
    DefaultPredicate::new().and(
        |_: StatusCode, _: Version, headers: &HeaderMap, _: &axum::http::Extensions| {
            !is_compressed(headers)
        },
    )
}

/// The compression layer.
pub fn layer() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .gzip(true)
        .br(true)
        .no_deflate()
        .no_zstd()
        .quality(CompressionLevel::Precise(LEVEL))
        .compress_when(predicate())
}

/// A body that answers "no more frames" forever once it has ended.
///
/// The encoders read their input until they have seen its end, and may ask once more; a
/// handler's body built on an unfused stream (`futures::stream::unfold`) panics when polled
/// after its end. Fusing here makes every body safe to compress.
struct Fused(Option<Body>);

impl HttpBody for Fused {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let Some(inner) = this.0.as_mut() else { return Poll::Ready(None) };
        let polled = Pin::new(inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            this.0 = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.0.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.0.as_ref().map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

/// Fuses the response body, so that polling it after its end answers "no more frames"
/// instead of reaching the handler's stream again: a tower `MapResponseLayer` just inside the
/// compression layer (unlike axum's `map_response`, it neither boxes nor clones per request).
pub fn fuse_body(response: Response) -> Response {
    response.map(|body| Body::new(Fused(Some(body))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str, disposition: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        if let Some(d) = disposition {
            h.insert(header::CONTENT_DISPOSITION, d.parse().unwrap());
        }
        h
    }

    #[test]
    fn compressed_bodies_are_recognised() {
        assert!(is_compressed(&headers("application/zip", None)));
        assert!(is_compressed(&headers("Application/Vnd.Apache.Parquet; x=1", None)));
        assert!(is_compressed(&headers(
            "application/octet-stream",
            Some("attachment; filename=\"velib.csv.gz\"")
        )));
        assert!(!is_compressed(&headers("text/csv; charset=utf-8", None)));
        assert!(!is_compressed(&headers(
            "application/json",
            Some("attachment; filename=\"velib.json\"")
        )));
    }
}
