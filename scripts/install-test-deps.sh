#!/usr/bin/env bash
# Installs what the test suite needs when it is missing. Idempotent; quiet when all is there.
set -euo pipefail
need=()
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
rustup component list --installed 2>/dev/null | grep -q '^clippy' || need+=(clippy)
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || need+=(rustfmt)
if ((${#need[@]})); then
  rustup component add "${need[@]}"
fi
echo "test dependencies present"
