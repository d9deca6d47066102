#!/usr/bin/env bash
# End to end over JSON-RPC: a localnet (tidepool-localnet, in the test process) driven by the
# real binaries and the TypeScript client: the `tidepool` CLI (admin, LP, trader commands,
# --output json), two `tidepool-keeper --once` at the same time after a price move (one
# liquidation, one stop-loss, each sent once), migrations/deploy.ts and the three examples in
# app/examples (localnet/tests/e2e.rs, ignored by a plain `cargo test`). Installs app/'s
# packages when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUST_LOG="${RUST_LOG:-error}"

# Built as `cargo test --workspace` builds them (after ./scripts/test.sh: nothing to do). A
# narrower `-p` build would resolve other features and compile the Solana stack again. The
# binaries (`tidepool`, `tidepool-keeper`) come with their packages' integration tests.
cargo test --workspace --locked --no-run -q
if [[ ! -d app/node_modules ]]; then
  (cd app && npm ci --no-audit --no-fund)
fi
cargo test --workspace --locked -q --test e2e -- --ignored
