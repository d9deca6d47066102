//! `tidepool-sim`: the Tidepool program on an in-process Solana runtime, replaying real
//! prices with LPs acting, and a report of what happened.
//!
//! ```text
//! cargo run --release -p tidepool-sim                        # the default scenario
//! cargo run --release -p tidepool-sim -- --scenario FILE     # your own (see scenarios/)
//! cargo run --release -p tidepool-sim -- --out DIR           # where reports go (sim-out/)
//! cargo run --release -p tidepool-sim -- stress              # the SOL crashes, dynamic vs fixed
//! ```

mod chart;
mod data;
mod report;
mod run;
mod scenario;
mod stress;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use scenario::Scenario;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// What to run.
struct Args {
    stress: bool,
    scenario: Option<PathBuf>,
    out: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        stress: false,
        scenario: None,
        out: PathBuf::from("sim-out"),
    };
    let mut it = std::env::args().skip(1).peekable();
    if it.peek().map(String::as_str) == Some("stress") {
        args.stress = true;
        it.next();
    }
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--scenario" => {
                args.scenario = Some(PathBuf::from(it.next().ok_or("--scenario needs a file")?))
            }
            "--out" => args.out = PathBuf::from(it.next().ok_or("--out needs a directory")?),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(args)
}

const USAGE: &str = "usage: tidepool-sim [--scenario FILE.toml] [--out DIR]\n       \
    tidepool-sim stress [--scenario FILE.toml] [--out DIR]   (the three SOL crashes, dynamic vs fixed margin)";

/// The candles of a scenario's window with its warm-up, and when trading starts.
fn load_candles(scenario: &Scenario) -> Result<(Vec<data::Candle>, i64), String> {
    let data_path = if scenario.data.is_absolute() {
        scenario.data.clone()
    } else {
        repo_root().join(&scenario.data)
    };
    let start = data::parse_time(&scenario.start)
        .ok_or_else(|| format!("start `{}` is not YYYY-MM-DD HH:MM:SS", scenario.start))?;
    let warm = data::format_time(start - scenario.warmup_hours as i64 * 3_600) + ":00";
    let candles = data::load(&data_path, &warm, &scenario.end)?;
    Ok((candles, start))
}

fn progress_bar(len: usize, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{label:>22} {{bar:40}} {{pos}}/{{len}} h  {{elapsed}}, ~{{eta}} left"
        ))
        .expect("static template"),
    );
    bar
}

async fn main_inner() -> Result<(), String> {
    let args = parse_args()?;
    let scenario = match &args.scenario {
        Some(path) => Scenario::load(path)?,
        None => Scenario::load(&repo_root().join("scenarios/default.toml"))?,
    };
    if args.stress {
        return stress::run(&scenario, &args.out).await;
    }
    let (candles, trading_start) = load_candles(&scenario)?;
    println!(
        "Simulating {} hours of {} ({} .. {}, {} h warm-up) with {} LPs and {} traders",
        candles.len(),
        scenario.data.display(),
        scenario.start,
        scenario.end,
        scenario.warmup_hours,
        scenario.lps.count,
        scenario.traders.count
    );
    let bar = progress_bar(candles.len(), "simulation");
    let outcome = run::run(&scenario, &candles, trading_start, &bar).await;
    bar.finish();
    let files = report::write(&args.out, &scenario, &outcome)?;
    println!(
        "LP return {:+.3} %, {} liquidations, bad debt {:.2} USDC; {} transactions at {:.0} per second",
        outcome.lp_return * 100.0,
        outcome.liquidations,
        outcome.bad_debt,
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
