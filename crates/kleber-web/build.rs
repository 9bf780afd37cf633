//! Fetches the browser libraries (Leaflet, Leaflet.markercluster, Chart.js) from the npm
//! registry at build time, so that no third-party code is committed.
//!
//! `assets/package.json` and `assets/package-lock.json` pin the exact versions. They are copied
//! into `OUT_DIR/npm`, where `npm ci` installs them, only when the lock file changed since the
//! last install (a stamp file holds the lock file the installed tree came from). The few
//! distribution files the portal serves are then copied to `OUT_DIR/vendor`, and
//! `OUT_DIR/vendor.rs` lists them for `include_bytes!`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (package directory, file inside it, name served under /static/).
const VENDORED: &[(&str, &str, &str)] = &[
    ("leaflet", "dist/leaflet.js", "leaflet.js"),
    ("leaflet", "dist/leaflet.css", "leaflet.css"),
    ("leaflet", "dist/images/marker-icon.png", "images/marker-icon.png"),
    ("leaflet", "dist/images/marker-icon-2x.png", "images/marker-icon-2x.png"),
    ("leaflet", "dist/images/marker-shadow.png", "images/marker-shadow.png"),
    ("leaflet", "dist/images/layers.png", "images/layers.png"),
    ("leaflet", "dist/images/layers-2x.png", "images/layers-2x.png"),
    ("leaflet.markercluster", "dist/leaflet.markercluster.js", "leaflet.markercluster.js"),
    ("leaflet.markercluster", "dist/MarkerCluster.css", "MarkerCluster.css"),
    ("leaflet.markercluster", "dist/MarkerCluster.Default.css", "MarkerCluster.Default.css"),
    ("chart.js", "dist/chart.umd.min.js", "chart.umd.min.js"),
];

fn main() {
    let manifest = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env("OUT_DIR"));
    let assets = manifest.join("assets");
    println!("cargo:rerun-if-changed=assets/package.json");
    println!("cargo:rerun-if-changed=assets/package-lock.json");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=KLEBER_NPM");

    let npm_dir = out.join("npm");
    let lock = read(&assets.join("package-lock.json"));
    let stamp = npm_dir.join(".kleber-lock-stamp");
    let installed = fs::read(&stamp).ok();
    if installed.as_deref() != Some(lock.as_slice()) || !npm_dir.join("node_modules").is_dir() {
        install(&assets, &npm_dir);
        write(&stamp, &lock);
    }

    let vendor = out.join("vendor");
    let mut table = String::from(
        "/// The files taken from the npm packages: (name under /static/, bytes).\n\
         pub(crate) const VENDOR: &[(&str, &[u8])] = &[\n",
    );
    for (package, file, name) in VENDORED {
        let from = npm_dir.join("node_modules").join(package).join(file);
        let to = vendor.join(name);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", parent.display())));
        }
        let bytes = read(&from);
        write(&to, &bytes);
        table.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            to.display().to_string()
        ));
    }
    table.push_str("];\n");
    write(&out.join("vendor.rs"), table.as_bytes());
}

/// Runs `npm ci` on a copy of the manifest and lock file in `dir`.
fn install(assets: &Path, dir: &Path) {
    if dir.exists() {
        let _ = fs::remove_dir_all(dir);
    }
    fs::create_dir_all(dir)
        .unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", dir.display())));
    for name in ["package.json", "package-lock.json"] {
        write(&dir.join(name), &read(&assets.join(name)));
    }
    let npm = std::env::var("KLEBER_NPM").unwrap_or_else(|_| "npm".to_owned());
    let output = Command::new(&npm)
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"])
        .current_dir(dir)
        .output();
    match output {
        Err(e) => fail(&format!(
            "cannot run `{npm}` ({e}). kleber-web fetches Leaflet and Chart.js from the npm registry at \
             build time: install Node.js and npm (Debian: `apt-get install npm`), or set KLEBER_NPM to npm's path."
        )),
        Ok(o) if !o.status.success() => fail(&format!(
            "`npm ci` failed in {} (is the npm registry reachable?). kleber-web fetches Leaflet and \
             Chart.js from the npm registry at build time, pinned by crates/kleber-web/assets/package-lock.json.\n\
             npm said:\n{}",
            dir.display(),
            String::from_utf8_lossy(&o.stderr)
        )),
        Ok(_) => {}
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| fail(&format!("cargo did not set {name}")))
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", path.display())))
}

fn write(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes)
        .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", path.display())));
}

fn fail(message: &str) -> ! {
    // A build script reports errors by failing; the message is what the developer reads.
    eprintln!("error: {message}");
    std::process::exit(1);
}
