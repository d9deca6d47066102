#!/usr/bin/env bash
# Compute units per program instruction, measured on the SBF build: the workload
# `bench_instruction_costs` (each instruction called once, see tests/tests/program/bench.rs)
# against target/deploy/tidepool.so, with the runtime's program log on, then the
# "Program <tidepool> consumed N of M compute units" line of every top-level Tidepool
# instruction (CPIs into SPL Token and the event self-CPI included).
#
# Build the .so first (./scripts/sbf.sh, or ../shared/sbf/build.sh tidepool). The compiler is
# upstream LLVM, not platform-tools' (see ../shared/sbf/README.md): compare figures between
# commits, not with `cargo build-sbf` builds.
set -euo pipefail
cd "$(dirname "$0")/.."
export SBF_OUT_DIR="${SBF_OUT_DIR:-$PWD/target/deploy}"
[[ -f $SBF_OUT_DIR/tidepool.so ]] || {
  echo "no $SBF_OUT_DIR/tidepool.so: build it with ./scripts/sbf.sh first" >&2
  exit 1
}
id=$(sed -n 's/^declare_id!("\([^"]*\)");/\1/p' programs/tidepool/src/lib.rs)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
RUST_LOG=tidepool_runtime::tx_log=debug \
  cargo test --locked -q -p tidepool-harness --test program -- \
  bench::bench_instruction_costs --ignored --exact --nocapture --test-threads=1 >"$log" 2>&1 ||
  { tail -n 40 "$log" >&2; exit 1; }
grep -q "1 passed" "$log" || { tail -n 40 "$log" >&2; exit 1; }

# The log is a sequence of "Program X invoke [depth]" ... "Program X success|failed"; the
# name comes from Anchor's "Program log: Instruction: <Name>" in Tidepool's depth-1 frame.
# Simulated views (quote_*, health, pool value) are logged like sent transactions.
sed -n 's/.*tx_log\] //p' "$log" | awk -v id="$id" '
  $1 == "Program" && $3 == "invoke" { d = substr($4, 2) + 0; prog[d] = $2; if (d == 1) name = "?"; next }
  /^Program log: Instruction: / && d == 1 && prog[1] == id { name = $4; next }
  $1 == "Program" && $2 == id && $3 == "consumed" && d == 1 {
    if (!(name in n)) order[++k] = name
    n[name]++; cu = $4 + 0
    if (!(name in lo) || cu < lo[name]) lo[name] = cu
    if (!(name in hi) || cu > hi[name]) hi[name] = cu
    next
  }
  $1 == "Program" && ($3 == "success" || $3 ~ /^failed/) { d-- }
  END {
    printf "%-26s %6s %20s\n", "instruction", "calls", "compute units"
    for (i = 1; i <= k; i++) {
      x = order[i]
      r = lo[x] == hi[x] ? lo[x] : lo[x] "-" hi[x]
      printf "%-26s %6d %20s\n", x, n[x], r
    }
  }'
