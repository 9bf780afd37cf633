#!/usr/bin/env bash
# Installs what the test suite needs when it is missing. Idempotent; quiet when all is there.
#
# - Rust components: clippy, rustfmt.
# - Debian packages: gdal-bin (ogrinfo reads back geo exports), chromium (browser tests),
#   curl (runs the examples of docs/publishing.md).
# - Python: a virtual environment in tests/clients/.venv with the pinned clients and readers
#   of tests/clients/requirements.txt (odsclient, ckanapi, pyarrow, openpyxl, odfpy, schemathesis,
#   aiosmtpd: the local SMTP server the invitation-mail tests send to; frictionless, rdflib,
#   feedparser: Data Package, RDF and RSS readers; pyshacl, udata and mongomock: the DCAT-AP
#   validator and data.gouv.fr's harvester; shapely: the spatial join's independent
#   point-in-polygon), and ckanext-datajson without its
#   dependencies (Project Open Data's data.json schemas).
# - npm: tests/clients/node_modules from tests/clients/package-lock.json
#   (@opendatasoft/api-client, playwright-core, axe-core).
#
# Tests find them at these paths (see tests/clients/README.md); a test whose tool is missing
# fails and names this script.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
need=()
rustup component list --installed 2>/dev/null | grep -q '^clippy' || need+=(clippy)
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || need+=(rustfmt)
if ((${#need[@]})); then
  rustup component add "${need[@]}"
fi

debs=()
command -v ogrinfo >/dev/null || debs+=(gdal-bin)
command -v chromium >/dev/null || debs+=(chromium)
command -v curl >/dev/null || debs+=(curl)
if ((${#debs[@]})); then
  echo "installing Debian packages: ${debs[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${debs[@]}" >/dev/null
fi

venv=tests/clients/.venv
stamp="$venv/.requirements"
if ! cmp -s tests/clients/requirements.txt "$stamp" 2>/dev/null; then
  echo "installing Python test clients into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/clients/requirements.txt
  cp tests/clients/requirements.txt "$stamp"
fi
# Project Open Data's v1.1 JSON schemas (data.json), as ckanext-datajson ships them: its own
# dependencies (CKAN, an old jsonschema) are not wanted, only the schema files.
if ! "$venv/bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('ckanext.datajson') is None)" 2>/dev/null; then
  echo "installing the Project Open Data schemas (ckanext-datajson) into $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps ckanext-datajson==0.1.29
fi

modules=tests/clients/node_modules
if ! cmp -s tests/clients/package-lock.json "$modules/.package-lock.json.stamp" 2>/dev/null; then
  echo "installing npm test clients into $modules"
  (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
  cp tests/clients/package-lock.json "$modules/.package-lock.json.stamp"
fi

echo "test dependencies present"
