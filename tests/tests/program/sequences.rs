//! The sequence model (`tidepool_harness::sequences`) driven two ways on stable Rust:
//!
//! - proptest: random sequences from a fixed seed, shrunk to a minimal failing sequence
//!   when one fails. `TIDEPOOL_SEQUENCES=N` runs N sequences (default 6, what CI runs);
//!   `TIDEPOOL_SEQUENCE_SEED=S` picks another seed. Each run prints ops, outcomes and ops/s.
//! - the fuzz corpus: every input in `fuzz/corpus/sequences/`, decoded as the cargo-fuzz
//!   target decodes it, run through the same executor (no libFuzzer, no nightly).

use std::path::PathBuf;
use std::time::Instant;

use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use tidepool_harness::sequences::{self, Stats};

#[test]
fn random_sequences_with_allowed_errors_and_wind_down() {
    let cases: u32 = std::env::var("TIDEPOOL_SEQUENCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let seed: u64 = std::env::var("TIDEPOOL_SEQUENCE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_261_130);
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    });
    let stats = std::cell::RefCell::new(Stats::default());
    let started = Instant::now();
    let result = runner.run(&proptest::collection::vec(sequences::op(), 20..80), |ops| {
        let s = sequences::run(&ops).map_err(TestCaseError::fail)?;
        stats.borrow_mut().merge(s);
        Ok(())
    });
    let secs = started.elapsed().as_secs_f64();
    // The outcome table for a chosen run (TIDEPOOL_SEQUENCES set); CI's slice prints the
    // headline only.
    let detail = std::env::var("TIDEPOOL_SEQUENCES").is_ok();
    stats
        .into_inner()
        .print(&format!("seed {seed}"), secs, detail);
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Every input of the fuzz corpus, replayed. A failing input names its file; reproduce it
/// with `cargo +nightly fuzz run sequences <file>` in `fuzz/` or with this test.
#[test]
fn fuzz_corpus_sequences_replay() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sequences");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    let mut stats = Stats::default();
    let started = Instant::now();
    for file in &files {
        let data = std::fs::read(file).expect("corpus file");
        let ops = sequences::decode(&data);
        // A broken invariant panics inside the run: name the input before passing it on.
        let run = std::panic::catch_unwind(|| sequences::run(&ops));
        match run {
            Ok(Ok(s)) => stats.merge(s),
            Ok(Err(e)) => panic!("{}: {e}\nops: {ops:#?}", file.display()),
            Err(p) => {
                eprintln!("{}: panicked\nops: {ops:#?}", file.display());
                std::panic::resume_unwind(p)
            }
        }
    }
    stats.print(
        &format!("{} corpus files", files.len()),
        started.elapsed().as_secs_f64(),
        false,
    );
}

/// A sequence runs the same twice: every address the world makes derives from one seed, so
/// a failing seed or fuzz input reproduces exactly (same accounts, same events, same bytes).
#[test]
fn a_sequence_repeats_exactly() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{RngAlgorithm, TestRng};
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[13; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let ops = proptest::collection::vec(sequences::op(), 60)
        .new_tree(&mut runner)
        .expect("a sequence")
        .current();
    let (first, a) = sequences::run_traced(&ops).expect("first run");
    let (second, b) = sequences::run_traced(&ops).expect("second run");
    assert_eq!(first.outcomes, second.outcomes);
    assert_eq!(a, b, "the two runs emitted different events");
}

// One set of bounds for both drivers: whatever proptest draws is already inside them, and
// whatever the fuzz decoder makes of any bytes is mapped inside them.
proptest::proptest! {
    #[test]
    fn drawn_ops_are_within_bounds(op in sequences::op()) {
        proptest::prop_assert_eq!(op.clone().bounded(), op);
    }

    #[test]
    fn decoded_ops_are_within_bounds(data in proptest::collection::vec(proptest::num::u8::ANY, 0..4_096)) {
        let ops = sequences::decode(&data);
        proptest::prop_assert!(ops.len() <= sequences::MAX_FUZZ_OPS);
        for op in ops {
            proptest::prop_assert_eq!(op.clone().bounded(), op);
        }
    }
}
