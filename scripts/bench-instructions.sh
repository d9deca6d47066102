#!/usr/bin/env bash
# Native instruction counts per program instruction (the project's stand-in for compute
# units, which cannot be measured without the SBF toolchain): the release build of the test
# workload `bench_instruction_costs` (each instruction called once) under
# `valgrind --tool=callgrind`, then the inclusive cost of Anchor's dispatcher function of each
# instruction: account validation and deserialization, the handler, the CPIs (SPL Token runs in
# the runtime's interpreter, the event self-CPI) and serialization. Counts are repeatable for
# the same binary and inputs; compare them between commits, not with on-chain compute units.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
bin=$(cargo test --release --locked -p tidepool-harness --test program --no-run --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*program-[^"]*"' | head -1 | cut -d'"' -f4)
out=$(mktemp -d)
RUST_LOG=error valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" \
  "$bin" bench::bench_instruction_costs --ignored --exact --test-threads=1 >"$out/test.log" 2>"$out/valgrind.log"
grep -q "1 passed" "$out/test.log" || { cat "$out/test.log" >&2; exit 1; }
printf '%-26s %16s\n' "instruction" "native instr."
callgrind_annotate --inclusive=yes --threshold=100 "$out/cg.out" 2>/dev/null \
  | awk '/__global::/ { n = $1; sub(/.*__global::/, ""); sub(/ .*/, ""); printf "%-26s %16s\n", $0, n }' \
  | sort -k1,1
