#!/usr/bin/env bash
# Every test of the project: the Rust workspace (program on the embedded runtime, math
# properties, client, keeper, CLI, simulator), then the TypeScript client in app/ against the
# golden vectors the Rust tests just wrote. Ends with one line: "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."
export RUST_LOG="${RUST_LOG:-error}"

log=$(mktemp)
cargo test --workspace --locked 2>&1 | tee "$log"
rust=$(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "$log")

if ! command -v npm >/dev/null 2>&1; then
  echo "npm (Node.js 20+) is needed for the TypeScript client's tests" >&2
  exit 1
fi
(
  cd app
  npm ci --no-audit --no-fund
  npm run check-generated
  npm run typecheck
  npm test
) 2>&1 | tee "$log"
ts=$(awk '/^# pass/ { p = $3 } /^# fail/ { f = $3 } END { print p + 0, f + 0 }' "$log")

read -r rp rf <<<"$rust"
read -r tp tf <<<"$ts"
printf '\nall tests: %d passed, %d failed\n' $((rp + tp)) $((rf + tf))
