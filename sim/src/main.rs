//! `tidepool-sim`: the Tidepool program on an in-process Solana runtime, replaying real
//! prices with LPs acting, and a report of what happened.
//!
//! ```text
//! cargo run --release -p tidepool-sim                        # the default scenario
//! cargo run --release -p tidepool-sim -- --scenario FILE     # your own (see scenarios/)
//! cargo run --release -p tidepool-sim -- --out DIR           # where reports go (sim-out/)
//! ```

mod data;
mod report;
mod run;
mod scenario;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use scenario::Scenario;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn parse_args() -> Result<(Option<PathBuf>, PathBuf), String> {
    let mut scenario = None;
    let mut out = PathBuf::from("sim-out");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--scenario" => {
                scenario = Some(PathBuf::from(args.next().ok_or("--scenario needs a file")?))
            }
            "--out" => out = PathBuf::from(args.next().ok_or("--out needs a directory")?),
            "-h" | "--help" => {
                return Err("usage: tidepool-sim [--scenario FILE.toml] [--out DIR]".into())
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    Ok((scenario, out))
}

async fn main_inner() -> Result<(), String> {
    let (scenario_path, out) = parse_args()?;
    let scenario = match &scenario_path {
        Some(path) => Scenario::load(path)?,
        None => Scenario::load(&repo_root().join("scenarios/default.toml"))?,
    };
    let data_path = if scenario.data.is_absolute() {
        scenario.data.clone()
    } else {
        repo_root().join(&scenario.data)
    };
    let candles = data::load(&data_path, &scenario.start, &scenario.end)?;
    println!(
        "Simulating {} candles of {} ({} .. {}) with {} LPs",
        candles.len(),
        scenario.data.display(),
        scenario.start,
        scenario.end,
        scenario.lps.count
    );
    let bar = ProgressBar::new(candles.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} steps  {elapsed} elapsed, ~{eta} left")
            .expect("static template"),
    );
    let outcome = run::run(&scenario, &candles, &bar).await;
    bar.finish();
    let files = report::write(&out, &scenario, &outcome)?;
    println!(
        "LP return {:+.4} %, {} transactions at {:.0} per second",
        outcome.lp_return * 100.0,
        outcome.transactions_ok + outcome.transactions_failed,
        outcome.transactions_per_second
    );
    for file in files {
        println!("wrote {}", file.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(main_inner()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tidepool-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
