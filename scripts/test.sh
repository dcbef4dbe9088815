#!/usr/bin/env bash
# Installs the test peer (moto_server, pinned) and runs every check and test: the README's test
# command, and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> installing the test peer (moto[server]==5.2.5) into target/test-peer"
# A project-local virtual environment: works where the system Python refuses global installs
# (PEP 668) and never touches the user's packages. The tests find it through MOTO_SERVER.
venv=target/test-peer
if [ ! -x "$venv/bin/moto_server" ] || ! "$venv/bin/python" -m pip show moto 2>/dev/null | grep -q '^Version: 5.2.5$'; then
  rm -rf "$venv"
  if ! python3 -m venv "$venv"; then
    echo "python3 -m venv failed: install Python's venv module (Debian/Ubuntu: apt-get install python3-venv)" >&2
    exit 1
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
fi
export MOTO_SERVER="$PWD/$venv/bin/moto_server"
export PATH="$PWD/$venv/bin:$PATH"
"$MOTO_SERVER" --help >/dev/null 2>&1 || { echo "moto_server is not runnable after install" >&2; exit 1; }

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
