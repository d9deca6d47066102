//! `tidepool-sim`: the Tidepool program on an in-process Solana runtime, replaying real
//! prices with LPs, traders and a keeper, and a report of what happened.
//!
//! ```text
//! cargo run --release -p tidepool-sim                          # the default scenario
//! cargo run --release -p tidepool-sim -- run --scenario FILE   # your own (see scenarios/)
//! cargo run --release -p tidepool-sim -- --out DIR             # where reports go (sim-out/)
//! cargo run --release -p tidepool-sim -- stress                # every crash, dynamic vs fixed
//! cargo run --release -p tidepool-sim -- stress --windows btc-2020-03 --crowds long
//! ```

mod calibrate;
mod chart;
mod data;
mod margin;
mod path;
mod report;
mod run;
mod scenario;
mod stress;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use scenario::Scenario;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[derive(Parser)]
#[command(
    name = "tidepool-sim",
    about = "The Tidepool program on an in-process Solana runtime, replaying real prices",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Without a subcommand: `run`.
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario and write report.md, report.json and charts (the default).
    Run(RunArgs),
    /// Every crash window in the shipped data, long and short crowds, dynamic margin vs
    /// fixed margin at equal average leverage; writes stress-test.md and stress-test.json.
    Stress(StressArgs),
    /// Sweep the margin model's parameters over every crash window (SOL chooses, BTC is
    /// held out), and the pool PnL cap; writes calibration.md and calibration.json.
    Calibrate(CalibrateArgs),
}

#[derive(Args)]
struct CalibrateArgs {
    /// Scenario TOML for the population and pool (markets and windows are replaced).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Where calibration.md and calibration.json go (`--out docs` regenerates the docs).
    #[arg(long, value_name = "DIR", default_value = "sim-out")]
    out: PathBuf,
}

#[derive(Args)]
struct RunArgs {
    /// Scenario TOML (default: scenarios/default.toml).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Where the report goes.
    #[arg(long, value_name = "DIR", default_value = "sim-out")]
    out: PathBuf,
}

#[derive(Args)]
struct StressArgs {
    /// Scenario TOML for the LP and trader population, pool and margin settings (its
    /// markets and window are replaced by each crash window's).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Where stress-test.md and stress-test.json go (`--out docs` regenerates the docs).
    #[arg(long, value_name = "DIR", default_value = "sim-out")]
    out: PathBuf,
    /// Windows to run, by id (default: all): sol-2021-05, sol-2022-05, sol-2022-11,
    /// sol-2022-11-15m, btc-2020-03, btc-2021-05.
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    windows: Vec<String>,
    /// Trader crowds (default: both).
    #[arg(long, value_name = "CROWD,...", value_delimiter = ',', value_enum)]
    crowds: Vec<stress::Crowd>,
}

/// The program's `msg!` lines go straight to stdout when it runs natively (`solana-msg`
/// prints them off-chain), so every refused transaction would print its `AnchorError`
/// line. While this guard lives, stdout goes to /dev/null (the progress bar is on stderr);
/// `TIDEPOOL_SIM_PROGRAM_LOGS=1` keeps the lines.
struct QuietStdout(Option<i32>);

impl QuietStdout {
    fn new() -> Self {
        use std::io::Write as _;
        if std::env::var_os("TIDEPOOL_SIM_PROGRAM_LOGS").is_some_and(|v| v == "1") {
            return Self(None);
        }
        let _ = std::io::stdout().flush();
        // SAFETY: plain descriptor calls on fd 1 and a fresh descriptor; failures leave
        // stdout as it was.
        unsafe {
            let saved = libc::dup(1);
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
            if saved < 0 || null < 0 || libc::dup2(null, 1) < 0 {
                if saved >= 0 {
                    libc::close(saved);
                }
                if null >= 0 {
                    libc::close(null);
                }
                return Self(None);
            }
            libc::close(null);
            Self(Some(saved))
        }
    }
}

impl Drop for QuietStdout {
    fn drop(&mut self) {
        use std::io::Write as _;
        if let Some(saved) = self.0.take() {
            let _ = std::io::stdout().flush();
            // SAFETY: `saved` is the descriptor `new` duplicated from fd 1.
            unsafe {
                libc::dup2(saved, 1);
                libc::close(saved);
            }
        }
    }
}

fn load_scenario(path: &Option<PathBuf>) -> Result<Scenario, String> {
    match path {
        Some(path) => Scenario::load(path),
        None => Scenario::load(&repo_root().join("scenarios/default.toml")),
    }
}

fn progress_bar(len: usize, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{label:>12} {{bar:40}} {{pos}}/{{len}} candles  {{elapsed}}, ~{{eta}} left"
        ))
        .expect("static template"),
    );
    bar
}

fn run(args: &RunArgs) -> Result<(), String> {
    let scenario = load_scenario(&args.scenario)?;
    let window = run::Window::of(&scenario);
    println!(
        "Simulating {} ({} .. {}, {} h warm-up) with {} LPs and {} traders",
        scenario.symbols(),
        scenario.start,
        scenario.end,
        scenario.warmup_hours,
        scenario.lps.count,
        scenario.traders.count
    );
    let bar = progress_bar(0, "simulation");
    let quiet = QuietStdout::new();
    let outcome = run::run_window(&scenario, &window, &bar);
    drop(quiet);
    let outcome = outcome?;
    bar.finish();
    let files = report::write(&args.out, &scenario, &outcome)?;
    println!("{}", report::mode_line(&outcome));
    println!(
        "LP return {:+.3} %, max drawdown {:.3} %, {} liquidations, {} ADL, bad debt {:.2} USDC; \
         {} transactions at {:.0} per second",
        outcome.lp_return * 100.0,
        outcome.max_share_price_drawdown * 100.0,
        outcome.liquidations,
        outcome.deleveraged,
        outcome.bad_debt,
        outcome.transactions_ok + outcome.transactions_failed,
        outcome.transactions_per_second
    );
    for file in files {
        println!("wrote {}", file.display());
    }
    Ok(())
}

fn stress(args: &StressArgs) -> Result<(), String> {
    let scenario = load_scenario(&args.scenario)?;
    let windows = stress::select_windows(&args.windows)?;
    let crowds = if args.crowds.is_empty() {
        vec![stress::Crowd::Long, stress::Crowd::Short]
    } else {
        args.crowds.clone()
    };
    let quiet = QuietStdout::new();
    let results = stress::run(&scenario, &repo_root().join("data"), &windows, &crowds);
    drop(quiet);
    let files = stress::write(&scenario, &results?, &args.out)?;
    for file in files {
        println!("wrote {}", file.display());
    }
    Ok(())
}

fn calibrate(args: &CalibrateArgs) -> Result<(), String> {
    let scenario = load_scenario(&args.scenario)?;
    let quiet = QuietStdout::new();
    let files = calibrate::run(&scenario, &repo_root().join("data"), &args.out);
    drop(quiet);
    let (md, files) = files?;
    println!("{md}");
    for file in files {
        println!("wrote {}", file.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        None => run(&cli.run),
        Some(Command::Run(args)) => run(args),
        Some(Command::Stress(args)) => stress(args),
        Some(Command::Calibrate(args)) => calibrate(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tidepool-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
