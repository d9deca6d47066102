#!/usr/bin/env bash
# The program as SBF bytecode: builds `tidepool.so` with the stand-in toolchain in
# ../shared/sbf (no platform-tools needed; see its README) and runs the program's integration
# tests (`tidepool-harness --test program`) against the .so instead of the native builtin.
#
# Exit status:
#   0  the tests passed on the .so, or the toolchain could not be set up / the SBF build
#      failed: then it prints "SBF toolchain unavailable: <reason>" and the marker line
#      "SBF: SKIPPED" and leaves the verdict to the native run;
#   1  the .so is not the code under test, or a test failed on the .so.
#
# Environment:
#   TIDEPOOL_SBF_SHARED  the toolchain folder (default: ../shared/sbf beside this repository)
#   SBF_ROOT             where setup.sh installs the toolchain, about 2.2 GB; cache it in CI
#                        (default: ${XDG_CACHE_HOME:-$HOME/.cache}/tidepool-sbf). When it is
#                        already set up, setup.sh only checks it (a few seconds).
#   SBPF_ARCH, SBF_JOBS  passed on to build.sh (default: v0, which the harness's Agave 3.1 loads)
#   SBF_LINKER_EXTRA_ARGS  more sbpf-linker arguments, after the ones this script adds
#                        (--cpu-features=+allows-misaligned-mem-access -O2
#                        --llvm-args=-bpf-max-stores-per-memfunc=8
#                        --llvm-args=-enable-merge-functions)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_LOG="${RUST_LOG:-error}"
export SBF_ROOT="${SBF_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/tidepool-sbf}"
SHARED="${TIDEPOOL_SBF_SHARED:-$HERE/../../shared/sbf}"
# The harness loads target/deploy/tidepool.so when SBF_OUT_DIR points here.
export SBF_OUT_DIR="$PWD/target/deploy"
SO="$SBF_OUT_DIR/tidepool.so"
START=$SECONDS
log=$(mktemp)
trap 'rm -f "$log"' EXIT

phase_start=$SECONDS
phase() {
  phase_start=$SECONDS
  printf '\n--- sbf: %s ---\n' "$*"
}
phase_done() { printf -- '--- sbf: %s: %ds ---\n' "$1" $((SECONDS - phase_start)); }

# The toolchain is optional: without it the native run alone decides.
unavailable() {
  echo "SBF toolchain unavailable: $*"
  echo "SBF: SKIPPED (the program tests ran natively only)"
  exit 0
}
# Why a setup/build failed: the script's own "error:" line (else its last line of output
# before the "FAILED" summary), and the first compiler error if there is one.
reason() {
  local last first
  last=$(grep -E '(setup|build)\.sh: error:' "$log" | tail -n 1 || true)
  [[ -n $last ]] || last=$(grep -v -E '^(setup|build)\.sh: FAILED|^[[:space:]]*$' "$log" | tail -n 1 || true)
  first=$(grep -m 1 -E '^error(\[E[0-9]+\])?:' "$log" || true)
  echo "$last${first:+ (first error: $first)}" | cut -c1-400
}

[[ -x $SHARED/setup.sh && -x $SHARED/build.sh ]] ||
  unavailable "no setup.sh/build.sh in $SHARED (set TIDEPOOL_SBF_SHARED)"
SHARED=$(cd "$SHARED" && pwd)

phase "setup (SBF_ROOT=$SBF_ROOT)"
# setup.sh runs `apt-get update` only when apt cannot see rustc-web at all. Package lists that
# predate rustc-web 1.96 in bookworm-security (as in a stale CI image) make its download fail,
# so refresh them first when the toolchain is not installed yet and we may.
if [[ ! -f $SBF_ROOT/deb-root/.done && $(id -u) -eq 0 ]] && command -v apt-cache >/dev/null &&
  ! apt-cache show libstd-rust-web-1.96 >/dev/null 2>&1; then
  echo "apt cannot see libstd-rust-web-1.96: apt-get update"
  apt-get update -qq || true
fi
if ! "$SHARED/setup.sh" 2>&1 | tee "$log"; then
  phase_done setup
  unavailable "setup.sh failed: $(reason)"
fi
phase_done setup

phase "build tidepool.so (SBPF ${SBPF_ARCH:-v0})"
rm -f "$SO"
# The SBF VM loads and stores at any alignment; telling LLVM so turns every unaligned
# read of account data (Borsh, token accounts, Pyth messages) into one instruction instead
# of a byte-by-byte sequence: the .so 32 % smaller and open_position 15k CU cheaper.
# -O2: the program crate is built at opt-level "s" (Cargo.toml), for which rustc asks the
# linker for -Os, a pipeline LLVM 23 no longer has ("use O2 with the optsize attribute"):
# the optsize attribute rustc puts on the program's functions is what keeps the link from
# inlining into them at -O2's threshold. (Before that, a global -inline-threshold=100 did
# the same less selectively; an explicit threshold overrides the attribute, so it is gone.)
# LLVM's BPF backend expands every fixed-size copy of up to 128 words into loads and
# stores; above 8 words (64 bytes) a call to memcpy, which is Agave's sol_memcpy_ (10 CU
# for up to 2.5 KB), is both smaller and cheaper: the .so 8 % smaller and open_position 1k
# CU cheaper. Function merging folds the identical copies that generics leave (Anchor
# instantiates `Account<T>::try_accounts` once per instruction, the same code each time):
# the .so 5 % smaller for at most 12 CU. Cargo does not track linker arguments, so a
# change of them relinks.
args=(
  --cpu-features=+allows-misaligned-mem-access
  -O2
  --llvm-args=-bpf-max-stores-per-memfunc=8
  --llvm-args=-enable-merge-functions
)
export SBF_LINKER_EXTRA_ARGS="${args[*]}${SBF_LINKER_EXTRA_ARGS:+ $SBF_LINKER_EXTRA_ARGS}"
sbf_target="${SBF_TARGET_DIR:-$PWD/target/sbf-upstream}"
stamp="$sbf_target/tidepool-linker-args"
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$SBF_LINKER_EXTRA_ARGS" ]]; then
  rm -rf "$sbf_target"/bpfel-solana/release/.fingerprint/tidepool-*
fi
if ! "$SHARED/build.sh" tidepool 2>&1 | tee "$log"; then
  phase_done build
  unavailable "build.sh tidepool failed: $(reason)"
fi
[[ -f $SO ]] || unavailable "build.sh did not write $SO"
echo "$SBF_LINKER_EXTRA_ARGS" > "$stamp"
phase_done build
size=$(stat -c %s "$SO")
echo "sbf: $SO: $size bytes ($(awk -v b="$size" 'BEGIN { printf "%.2f MB", b / 1e6 }'))"

phase "program tests on tidepool.so"
# The test binary is the native run's (SBF_OUT_DIR is read at run time): compile it visibly.
cargo test --locked -p tidepool-harness --test program --no-run
# Proof that the .so is the code under test: only the SBF program logs its compute units
# (natively Tidepool logs no "consumed" line; SPL Token, always SBF, does, hence the id).
probe=admin::initialize_sets_config_once
id=$(sed -n 's/^declare_id!("\([^"]*\)");/\1/p' programs/tidepool/src/lib.rs)
if ! RUST_LOG=tidepool_runtime::tx_log=debug \
  cargo test --locked -q -p tidepool-harness --test program -- "$probe" --exact --nocapture \
  >"$log" 2>&1; then
  cat "$log"
  echo "sbf: FAILED: $probe failed on the .so"
  exit 1
fi
consumed=$(grep -Eo "Program $id consumed [0-9]+ of [0-9]+ compute units" "$log" || true)
if [[ -z $consumed ]]; then
  tail -n 20 "$log"
  echo "sbf: FAILED: no 'Program $id consumed … compute units' line: the tests did not run on $SO"
  exit 1
fi
echo "sbf: the .so is under test ($probe logs $(wc -l <<<"$consumed") 'consumed' lines; the last:" \
  "$(tail -n 1 <<<"$consumed" | cut -d' ' -f3-))"

set +e
cargo test --locked -p tidepool-harness --test program 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
phase_done tests
read -r passed failed < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "$log")
echo "sbf: program tests on tidepool.so: $passed passed, $failed failed (total $((SECONDS - START))s)"
if [[ $rc -ne 0 ]]; then
  echo "SBF: FAILED"
  exit 1
fi
echo "SBF: OK"
