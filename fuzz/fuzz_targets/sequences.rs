//! Fuzz target over the harness's sequence model: the input's bytes become at most 64 ops
//! (`tidepool_harness::sequences::decode`, `arbitrary` mapped into the model's bounds), run
//! on a fresh pool by the same executor as the proptest, then wound down. An error no op
//! may get, a broken invariant, or tokens created or lost is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidepool_harness::sequences;

fuzz_target!(|data: &[u8]| {
    let ops = sequences::decode(data);
    if let Err(e) = sequences::run(&ops) {
        panic!("{e}\nops: {ops:#?}");
    }
});
