//! Zip archives: told apart (an XLSX or ODS workbook, or a container of one dataset such as a
//! KMZ, a zipped shapefile or CSV), checked against the archive limits, and unzipped to read
//! the one dataset they hold.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::limits::{MAX_ARCHIVE_ENTRIES, MAX_ARCHIVE_NESTING, MAX_ARCHIVE_UNCOMPRESSED, mib};
use crate::{Error, Format, ImportOptions, ImportOutcome, Progress};

type Zip = zip::ZipArchive<BufReader<File>>;

/// Opens a zip archive, saying what is wrong with a damaged one.
fn open(path: &Path) -> Result<Zip, Error> {
    let file = File::open(path).map_err(|e| Error::input(path, e))?;
    zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
        Error::unreadable(
            path,
            format!(
                "the zip archive cannot be read ({e}): it is damaged or cut short (an \
                 interrupted download?); download or create it again"
            ),
        )
    })
}

/// Refuses an archive with more than [`MAX_ARCHIVE_ENTRIES`] members or whose members
/// declare more than [`MAX_ARCHIVE_UNCOMPRESSED`] bytes uncompressed, before any member is
/// read. The declared sizes are enough: the zip reader stops a member that decompresses
/// beyond its declared size with an error.
pub(crate) fn check_limits(path: &Path, archive: &mut Zip) -> Result<(), Error> {
    let too_large = |what: String| Error::TooLarge {
        path: path.to_path_buf(),
        reason: format!(
            "{what}; an archive may hold at most {} uncompressed (the archive size limit) in \
             at most {MAX_ARCHIVE_ENTRIES} members: this looks like a zip bomb, or split the \
             data into smaller files",
            mib(MAX_ARCHIVE_UNCOMPRESSED)
        ),
    };
    if archive.len() > MAX_ARCHIVE_ENTRIES {
        return Err(too_large(format!("the archive has {} members", archive.len())));
    }
    let mut declared = 0u64;
    for i in 0..archive.len() {
        if let Ok(entry) = archive.by_index_raw(i) {
            declared = declared.saturating_add(entry.size());
        }
    }
    if declared > MAX_ARCHIVE_UNCOMPRESSED {
        return Err(too_large(format!("the archive declares {} uncompressed", mib(declared))));
    }
    Ok(())
}

/// Checks the limits of a spreadsheet archive; a file that is not a zip (XLS) is left to
/// calamine.
pub(crate) fn check_workbook(path: &Path) -> Result<(), Error> {
    let file = File::open(path).map_err(|e| Error::input(path, e))?;
    match zip::ZipArchive::new(BufReader::new(file)) {
        Ok(mut archive) => check_limits(path, &mut archive),
        Err(_) => Ok(()),
    }
}

/// The workbook format of a zip archive (`Xlsx` for XLSX, XLSM and XLSB, `Ods`), or `None`
/// for any other zip.
pub(crate) fn workbook_kind(path: &Path) -> Result<Option<Format>, Error> {
    let mut archive = open(path)?;
    if let Ok(mut m) = archive.by_name("mimetype") {
        let mut head = Vec::new();
        // The mimetype member is a few dozen bytes; more is not a mimetype.
        (&mut m).take(128).read_to_end(&mut head).map_err(|e| Error::input(path, e))?;
        if head.starts_with(b"application/vnd.oasis.opendocument.spreadsheet") {
            return Ok(Some(Format::Ods));
        }
    }
    let workbook = archive
        .file_names_raw()
        .any(|n| n == b"[Content_Types].xml" || n.starts_with(b"xl/") || n == b"content.xml");
    Ok(workbook.then_some(Format::Xlsx))
}

/// Extensions of a shapefile's companion files.
const SHAPEFILE_PARTS: &[&str] =
    &["shx", "dbf", "prj", "cpg", "qpj", "sbn", "sbx", "fbn", "fbx", "ain", "aih", "atx", "ixs"];

/// A dataset found in an archive.
enum Dataset {
    /// A member read by itself: its index and name.
    File(usize, String),
    /// A shapefile: the name of its `.shp` member without the extension.
    Shapefile(String),
}

impl Dataset {
    fn name(&self) -> String {
        match self {
            Dataset::File(_, n) => n.clone(),
            Dataset::Shapefile(stem) => format!("{stem}.shp"),
        }
    }
}

/// The lower-case extension of a member name.
fn extension(name: &str) -> String {
    Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase()
}

/// The member name without its extension.
fn stem(name: &str) -> &str {
    name.rfind('.').map_or(name, |i| &name[..i])
}

/// Members a packer adds that are not data: macOS resource forks, hidden files.
fn is_hidden(name: &str) -> bool {
    name.split('/').any(|part| part.starts_with('.') || part == "__MACOSX")
}

/// Imports the one dataset an archive holds: a data file (CSV, GeoJSON, KML as in a KMZ...)
/// or a shapefile (`.shp` with its `.dbf`, `.shx`, `.prj`, `.cpg`), unzipped beside the
/// output and read as if given alone. Other members (images, documents) are ignored; two
/// datasets, none, or an archive inside the archive are refused.
pub(crate) fn import(
    path: &Path,
    out_path: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
    depth: usize,
) -> Result<ImportOutcome, Error> {
    if depth >= MAX_ARCHIVE_NESTING {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            reason: format!(
                "a zip archive inside a zip archive: archives may nest at most \
                 {MAX_ARCHIVE_NESTING} deep (the archive nesting limit); unzip the outer one \
                 and import the inner one"
            ),
        });
    }
    let mut archive = open(path)?;
    check_limits(path, &mut archive)?;
    let mut names = Vec::new();
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| {
            Error::unreadable(path, format!("member {} of the zip cannot be read: {e}", i + 1))
        })?;
        if entry.is_dir() {
            continue;
        }
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if entry.enclosed_name().is_none() {
            return Err(Error::unreadable(
                path,
                format!(
                    "the zip member `{name}` has an unsafe path (absolute, or going up with \
                     `..`); create the archive again from a folder"
                ),
            ));
        }
        if !is_hidden(&name) {
            names.push((i, name));
        }
    }
    let mut datasets = find_datasets(&names);
    drop_kmz_index(path, &mut archive, &mut datasets)?;
    let dataset = match datasets.as_slice() {
        [one] => one,
        [] => {
            let listed: Vec<&str> = names.iter().map(|(_, n)| n.as_str()).take(20).collect();
            return Err(Error::unreadable(
                path,
                format!(
                    "the zip archive holds no data file (its members: {}); a zip may hold one \
                     CSV, JSON, GeoJSON, KML, GPX, XLSX, ODS, GeoPackage or Parquet file, or \
                     one shapefile (.shp with its .dbf, .shx and .prj)",
                    if listed.is_empty() { "none".to_owned() } else { listed.join(", ") }
                ),
            ));
        }
        many => {
            let listed: Vec<String> = many.iter().map(Dataset::name).take(20).collect();
            return Err(Error::unreadable(
                path,
                format!(
                    "the zip archive holds {} datasets ({}); it may hold only one: zip each \
                     apart, or unzip it and import the one you want",
                    many.len(),
                    listed.join(", ")
                ),
            ));
        }
    };
    let parent = out_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir = tempfile::Builder::new()
        .prefix(".kleber-unzip-")
        .tempdir_in(parent)
        .or_else(|_| tempfile::tempdir())
        .map_err(|e| Error::output(parent, e))?;
    let (member, shown) = match dataset {
        Dataset::File(i, name) => {
            // The extension is kept: a `.txt` or `.json` member is read as such.
            let ext = extension(name);
            let local = dir.path().join(if ext.is_empty() {
                "data".to_owned()
            } else {
                format!("data.{ext}")
            });
            extract(path, &mut archive, *i, &local)?;
            (local, name.clone())
        }
        Dataset::Shapefile(stem_name) => {
            let local = dir.path().join("data.shp");
            for (i, name) in &names {
                let ext = extension(name);
                if stem(name) == stem_name && (ext == "shp" || SHAPEFILE_PARTS.contains(&&*ext)) {
                    extract(path, &mut archive, *i, &dir.path().join(format!("data.{ext}")))?;
                }
            }
            if !dir.path().join("data.dbf").exists() {
                return Err(Error::unreadable(
                    path,
                    format!(
                        "the shapefile {stem_name}.shp has no {stem_name}.dbf beside it in the \
                         archive (the .dbf holds its attributes); zip the .shp, .shx, .dbf and \
                         .prj files together"
                    ),
                ));
            }
            (local, format!("{stem_name}.shp"))
        }
    };
    drop(archive);
    let result = crate::import_at(&member, out_path, opts, progress, depth + 1);
    let shown_path = PathBuf::from(format!("{} (zip member {shown})", path.display()));
    match result {
        Ok(mut outcome) => {
            outcome.detected.archive_member = Some(shown);
            Ok(outcome)
        }
        Err(e) => Err(e.relocated(&member, &shown_path)),
    }
}

/// The datasets among the members: shapefiles (grouped by name), then other data files by
/// extension; `.txt` files count only when nothing else does (a readme beside the data).
fn find_datasets(names: &[(usize, String)]) -> Vec<Dataset> {
    let mut found = Vec::new();
    let mut texts = Vec::new();
    for (i, name) in names {
        let ext = extension(name);
        if ext == "shp" {
            found.push(Dataset::Shapefile(stem(name).to_owned()));
        } else if ext == "txt" {
            texts.push(Dataset::File(*i, name.clone()));
        } else if ext == "zip" || (ext != "dbf" && Format::from_extension(&ext).is_some()) {
            found.push(Dataset::File(*i, name.clone()));
        }
    }
    if found.is_empty() { texts } else { found }
}

/// In a KMZ whose `doc.kml` only links to the layers beside it (GDAL's LIBKML driver writes
/// `doc.kml` with a network link per file of `layers/`), `doc.kml` is no dataset.
fn drop_kmz_index(
    path: &Path,
    archive: &mut Zip,
    datasets: &mut Vec<Dataset>,
) -> Result<(), Error> {
    let is_kml = |d: &Dataset| matches!(d, Dataset::File(_, n) if extension(n) == "kml");
    if datasets.len() < 2 || !datasets.iter().all(is_kml) {
        return Ok(());
    }
    let Some(pos) =
        datasets.iter().position(|d| matches!(d, Dataset::File(_, n) if n == "doc.kml"))
    else {
        return Ok(());
    };
    let Dataset::File(i, _) = datasets[pos] else { return Ok(()) };
    let mut entry = archive.by_index(i).map_err(|e| {
        Error::unreadable(path, format!("the zip member doc.kml cannot be read: {e}"))
    })?;
    let mut text = Vec::new();
    (&mut entry).take(crate::limits::MAX_XML_BYTES).read_to_end(&mut text).map_err(|e| {
        Error::unreadable(path, format!("the zip member doc.kml cannot be read: {e}"))
    })?;
    let has = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
    if has(b"<NetworkLink") && !has(b"<Placemark") {
        datasets.remove(pos);
    }
    Ok(())
}

/// Writes member `i` to `to`, holding it to its declared size.
fn extract(path: &Path, archive: &mut Zip, i: usize, to: &Path) -> Result<(), Error> {
    let mut entry = archive.by_index(i).map_err(|e| {
        Error::unreadable(path, format!("member {} of the zip cannot be read: {e}", i + 1))
    })?;
    let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
    let declared = entry.size();
    let mut out = File::create(to).map_err(|e| Error::output(to, e))?;
    let copied = std::io::copy(&mut (&mut entry).take(declared.saturating_add(1)), &mut out)
        .map_err(|e| {
            Error::unreadable(
                path,
                format!(
                    "the zip member `{name}` cannot be decompressed ({e}): the archive is \
                     damaged or cut short; create it again"
                ),
            )
        })?;
    if copied > declared {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            reason: format!(
                "the zip member `{name}` decompresses to more than the {declared} bytes it \
                 declares: a forged archive (zip bomb); create it again"
            ),
        });
    }
    Ok(())
}
