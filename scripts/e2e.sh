#!/usr/bin/env bash
# End to end over JSON-RPC: a localnet (tidepool-localnet, in the test process) driven by the
# real binaries and the TypeScript client: the `tidepool` CLI (admin, LP, trader commands,
# --output json), two `tidepool-keeper --once` at the same time after a price move (one
# liquidation, one stop-loss, each sent once), migrations/deploy.ts and the three examples in
# app/examples. Builds what it needs; installs app/'s packages when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUST_LOG="${RUST_LOG:-error}"

cargo build --locked -q -p tidepool-cli -p tidepool-keeper
if [[ ! -d app/node_modules ]]; then
  (cd app && npm ci --no-audit --no-fund)
fi
# The end-to-end tests are ignored by a plain `cargo test`; the binaries are found next to
# the test's own target directory.
cargo test --locked -q -p tidepool-localnet --test e2e -- --ignored
