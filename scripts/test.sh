#!/usr/bin/env bash
# Installs the test peer (moto_server, pinned) and runs every check and test: the README's test
# command, and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> installing the test peer (moto[server]==5.2.5)"
python3 -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
# pyenv installs console scripts behind shims that need a rehash to appear on PATH.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
if ! command -v moto_server >/dev/null 2>&1; then
  bindir=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
  export PATH="$bindir:$PATH"
fi
moto_server --version >/dev/null 2>&1 || { echo "moto_server is not runnable after install" >&2; exit 1; }

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> clippy (all targets, all features, -D warnings)"
cargo clippy --all-targets --all-features --locked -- -D warnings

echo "==> clippy without default features"
cargo clippy --all-targets --no-default-features --locked -- -D warnings

echo "==> tests, all features (unit, integration, doc)"
cargo test --all-features --locked

echo "==> tests without default features (no AWS SDK)"
cargo test --no-default-features --locked

echo "==> docs build without warnings"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features --locked
