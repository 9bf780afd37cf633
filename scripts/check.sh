#!/usr/bin/env bash
# The one check, run by CI (.ci/run) and by developers before pushing:
# format, lints (warnings are errors), every test, docs.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "installing what the tests need"
scripts/install-test-deps.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast -E 'not test(schemathesis)'
  cargo test --workspace --locked --doc
  # Schemathesis, bounded (fixed seeds, a few examples per operation, one worker; about two
  # minutes on two cores): Kleber's whole OpenAPI document (/api/openapi.json), Opendatasoft's
  # own Explore v2.1 document against our server, the management API's document.
  step "schemathesis"
  cargo nextest run -p kleber-server --test it --locked --no-fail-fast -E 'test(schemathesis)'
else
  cargo test --workspace --locked --no-fail-fast
fi

step "docs (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
echo "all checks passed"
