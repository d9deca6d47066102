//! The risk engine's stress test: every crash window in the shipped data, for a crowd of
//! traders mostly long into the crash and one mostly short, each run with Tidepool's dynamic
//! margin and again with a fixed margin at the same average leverage (the fixed run's
//! initial margin iterated until its measured average leverage is within 2 % of the
//! dynamic run's).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use indicatif::ProgressBar;
use serde::Serialize;

use crate::run::{run_window, Outcome, Window};
use crate::scenario::{MarginMode, Scenario};

/// A crash window: one market over one file.
#[derive(Debug, Clone, Copy)]
pub struct StressWindow {
    /// Short name for `--windows`.
    pub id: &'static str,
    pub name: &'static str,
    pub symbol: &'static str,
    /// File in the repository's `data/`.
    pub data: &'static str,
    pub start: &'static str,
    pub end: &'static str,
    pub warmup_hours: u32,
}

/// Every crash window in the shipped data.
pub const WINDOWS: [StressWindow; 6] = [
    StressWindow {
        id: "sol-2021-05",
        name: "SOL May 2021",
        symbol: "SOL-PERP",
        data: "SOLUSDT_1h.csv",
        start: "2021-05-01 00:00:00",
        end: "2021-05-31 23:00:00",
        warmup_hours: 168,
    },
    StressWindow {
        id: "sol-2022-05",
        name: "SOL May 2022 (LUNA)",
        symbol: "SOL-PERP",
        data: "SOLUSDT_1h.csv",
        start: "2022-05-01 00:00:00",
        end: "2022-05-31 23:00:00",
        warmup_hours: 168,
    },
    StressWindow {
        id: "sol-2022-11",
        name: "SOL Nov 2022 (FTX)",
        symbol: "SOL-PERP",
        data: "SOLUSDT_1h.csv",
        start: "2022-11-01 00:00:00",
        end: "2022-11-30 23:00:00",
        warmup_hours: 168,
    },
    // The 15-minute file covers 2022-11-01 00:00 .. 2022-11-23 12:00 and nothing before:
    // its first day is the warm-up, trading runs from Nov 2 (the crash starts on Nov 6).
    StressWindow {
        id: "sol-2022-11-15m",
        name: "SOL Nov 2022 (FTX), 15 min",
        symbol: "SOL-PERP",
        data: "SOL_USDT-15m.json",
        start: "2022-11-02 00:00:00",
        end: "2022-11-23 12:00:00",
        warmup_hours: 24,
    },
    StressWindow {
        id: "btc-2020-03",
        name: "BTC Mar 2020",
        symbol: "BTC-PERP",
        data: "BTC_USDT-1h.json",
        start: "2020-03-01 00:00:00",
        end: "2020-03-31 23:00:00",
        warmup_hours: 168,
    },
    StressWindow {
        id: "btc-2021-05",
        name: "BTC May 2021",
        symbol: "BTC-PERP",
        data: "BTC_USDT-1h.json",
        start: "2021-05-01 00:00:00",
        end: "2021-05-31 23:00:00",
        warmup_hours: 168,
    },
];

/// Calm months (the lowest realized volatility of each file's months), for the check that
/// dynamic margin cuts leverage when it matters and not everywhere.
pub const CALM_WINDOWS: [StressWindow; 2] = [
    StressWindow {
        id: "sol-2023-05",
        name: "SOL May 2023",
        symbol: "SOL-PERP",
        data: "SOLUSDT_1h.csv",
        start: "2023-05-01 00:00:00",
        end: "2023-05-31 23:00:00",
        warmup_hours: 168,
    },
    StressWindow {
        id: "btc-2020-07",
        name: "BTC Jul 2020",
        symbol: "BTC-PERP",
        data: "BTC_USDT-1h.json",
        start: "2020-07-01 00:00:00",
        end: "2020-07-31 23:00:00",
        warmup_hours: 168,
    },
];

/// Trader populations: the share of opens that are longs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Crowd {
    /// Mostly long into the crash (85 % of opens).
    Long,
    /// Mostly short (15 % of opens long).
    Short,
}

impl Crowd {
    pub fn long_share(self) -> f64 {
        match self {
            Crowd::Long => 0.85,
            Crowd::Short => 0.15,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Crowd::Long => "long",
            Crowd::Short => "short",
        }
    }
}

/// Share of the highest allowed leverage stress traders open at.
pub const STRESS_LEVERAGE_SHARE: f64 = 0.95;
/// Equal leverage: the fixed run's average within this share of the dynamic run's.
pub const LEVERAGE_TOLERANCE: f64 = 0.02;
/// At most this many fixed runs per window and crowd.
pub const MAX_ITERATIONS: u32 = 6;
const MIN_IM_BPS: u16 = 20;
const MAX_IM_BPS: u16 = 5_000;

/// How the fixed run's initial margin was found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LeverageMatch {
    pub target_leverage: f64,
    /// The run kept: the one closest to the target.
    pub initial_margin_bps: u16,
    pub leverage: f64,
    pub iterations: u32,
    pub converged: bool,
    /// Every (initial margin bps, measured average leverage) tried, in order.
    pub tried: Vec<(u16, f64)>,
}

/// Find the initial margin (bps) at which `run` measures an average leverage within
/// `tolerance` of `target`, starting from `first_bps`, in at most `max_iterations` runs.
///
/// Leverage falls as margin rises, roughly as `k / im`, so each step moves the margin by the
/// ratio of measured to target leverage (exact for `k / im`); once the target is bracketed a
/// step that would leave the bracket bisects it (geometrically) instead. It stops, not
/// converged, when the cap is reached or the next margin rounds to one already tried.
/// Returns the match and the payload of the run closest to the target.
pub fn match_leverage<T>(
    target: f64,
    first_bps: f64,
    tolerance: f64,
    max_iterations: u32,
    mut run: impl FnMut(u16) -> Result<(f64, T), String>,
) -> Result<(LeverageMatch, T), String> {
    let clamp = |x: f64| x.round().clamp(MIN_IM_BPS as f64, MAX_IM_BPS as f64) as u16;
    let mut m = LeverageMatch {
        target_leverage: target,
        initial_margin_bps: 0,
        leverage: 0.0,
        iterations: 0,
        converged: false,
        tried: Vec::new(),
    };
    let mut best: Option<(f64, T)> = None;
    // Highest margin seen with leverage above target, lowest with leverage below.
    let (mut lo, mut hi): (Option<u16>, Option<u16>) = (None, None);
    let mut next = clamp(first_bps);
    while m.iterations < max_iterations {
        let bps = next;
        let (leverage, payload) = run(bps)?;
        m.iterations += 1;
        m.tried.push((bps, leverage));
        let error = if target > 0.0 {
            (leverage / target - 1.0).abs()
        } else {
            f64::INFINITY
        };
        if best.as_ref().is_none_or(|(e, _)| error < *e) {
            best = Some((error, payload));
            m.initial_margin_bps = bps;
            m.leverage = leverage;
        }
        if error <= tolerance {
            m.converged = true;
            break;
        }
        if leverage > target {
            lo = Some(lo.map_or(bps, |l| l.max(bps)));
        } else {
            hi = Some(hi.map_or(bps, |h| h.min(bps)));
        }
        let proposal = if leverage > 0.0 {
            bps as f64 * leverage / target
        } else {
            bps as f64 / 2.0
        };
        let inside =
            lo.is_none_or(|l| proposal > l as f64) && hi.is_none_or(|h| proposal < h as f64);
        next = match (inside, lo, hi) {
            (false, Some(l), Some(h)) => clamp((l as f64 * h as f64).sqrt()),
            _ => clamp(proposal),
        };
        if m.tried.iter().any(|(b, _)| *b == next) {
            break;
        }
    }
    let (_, payload) = best.ok_or("no run")?;
    Ok((m, payload))
}

#[derive(Serialize)]
struct WindowResult {
    id: String,
    window: String,
    data: String,
    start: String,
    end: String,
    warmup_hours: u32,
    crowd: Crowd,
    long_share: f64,
    dynamic: Outcome,
    fixed: Outcome,
    leverage_match: LeverageMatch,
    wall_seconds: f64,
}

/// The windows named in `ids` (all when empty).
pub fn select_windows(ids: &[String]) -> Result<Vec<StressWindow>, String> {
    if ids.is_empty() {
        return Ok(WINDOWS.to_vec());
    }
    ids.iter()
        .map(|id| {
            WINDOWS.iter().find(|w| w.id == id).copied().ok_or_else(|| {
                let known: Vec<&str> = WINDOWS.iter().map(|w| w.id).collect();
                format!("unknown window `{id}` (known: {})", known.join(", "))
            })
        })
        .collect()
}

/// `base` replayed over window `w` with crowd `crowd`, traders at the stress leverage.
pub fn window_scenario(
    base: &Scenario,
    data_dir: &Path,
    w: &StressWindow,
    crowd: Crowd,
) -> Scenario {
    let mut s = base.clone();
    let mut market = base.markets[0].clone();
    market.symbol = w.symbol.into();
    market.data = data_dir.join(w.data);
    market.margin = MarginMode::Dynamic;
    s.markets = vec![market];
    s.start = w.start.into();
    s.end = w.end.into();
    s.warmup_hours = w.warmup_hours;
    s.traders.long_share = crowd.long_share();
    // Traders open at the highest leverage the margin allows (less a sliver for the fees
    // and spread of the open itself).
    s.traders.leverage_share = STRESS_LEVERAGE_SHARE;
    s
}

/// One window and crowd: the dynamic run, then fixed runs until the leverage matches.
fn run_job(
    base: &Scenario,
    data_dir: &Path,
    w: &StressWindow,
    crowd: Crowd,
) -> Result<WindowResult, String> {
    let started = Instant::now();
    let s = window_scenario(base, data_dir, w, crowd);
    let window = Window::of(&s);
    let label = format!("{} / {} crowd", w.name, crowd.name());
    let hidden = ProgressBar::hidden();
    let mut d = run_window(&s, &window, &hidden)?;
    eprintln!(
        "{label}: dynamic, average leverage {:.2}x ({:.1} s)",
        d.average_leverage, d.wall_seconds
    );

    // Fixed margin at the same average leverage. Traders open at `leverage_share` of 1 / im,
    // so start from im = leverage_share / average leverage, maintenance at half.
    let mut fixed = s.clone();
    fixed.markets[0].margin = MarginMode::Fixed;
    let first = 10_000.0 * STRESS_LEVERAGE_SHARE / d.average_leverage.max(1.0);
    let (m, mut x) = match_leverage(
        d.average_leverage,
        first,
        LEVERAGE_TOLERANCE,
        MAX_ITERATIONS,
        |bps| {
            fixed.markets[0].base_initial_margin_bps = bps;
            fixed.markets[0].base_maintenance_margin_bps = (bps / 2).max(1);
            let o = run_window(&fixed, &window, &hidden)?;
            eprintln!(
                "{label}: fixed {:.2} %, average leverage {:.2}x ({:.1} s)",
                bps as f64 / 100.0,
                o.average_leverage,
                o.wall_seconds
            );
            Ok((o.average_leverage, o))
        },
    )?;
    // The report keeps the aggregates; the per-candle series belong to single runs.
    d.samples.clear();
    x.samples.clear();
    Ok(WindowResult {
        id: w.id.into(),
        window: w.name.into(),
        data: w.data.into(),
        start: w.start.into(),
        end: w.end.into(),
        warmup_hours: w.warmup_hours,
        crowd,
        long_share: crowd.long_share(),
        dynamic: d,
        fixed: x,
        leverage_match: m,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Run `f` over `jobs` on up to two threads (these machines have two cores; each job builds
/// its own runtime), results in the order of `jobs`, and the number of threads used.
pub fn parallel<J: Send, R: Send>(jobs: Vec<J>, f: impl Fn(J) -> R + Sync) -> (Vec<R>, usize) {
    let n = jobs.len();
    let queue = Mutex::new(jobs.into_iter().enumerate().collect::<VecDeque<_>>());
    let results = Mutex::new(Vec::with_capacity(n));
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 2)
        .min(n.max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let Some((i, job)) = queue.lock().expect("job queue").pop_front() else {
                    break;
                };
                let r = f(job);
                results.lock().expect("results").push((i, r));
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by_key(|(i, _)| *i);
    (results.into_iter().map(|(_, r)| r).collect(), threads)
}

/// What a stress run produced: every window and crowd, and how long it took.
pub struct StressResults {
    results: Vec<WindowResult>,
    wall_seconds: f64,
    threads: usize,
}

/// Run the stress test over `windows` × `crowds`, two jobs at a time (one thread each, each
/// with its own runtime). Progress lines go to stderr.
pub fn run(
    base: &Scenario,
    data_dir: &Path,
    windows: &[StressWindow],
    crowds: &[Crowd],
) -> Result<StressResults, String> {
    let started = Instant::now();
    let jobs: Vec<(StressWindow, Crowd)> = windows
        .iter()
        .flat_map(|w| crowds.iter().map(move |c| (*w, *c)))
        .collect();
    let (results, threads) = parallel(jobs, |(w, c)| run_job(base, data_dir, &w, c));
    let results: Vec<WindowResult> = results.into_iter().collect::<Result<_, _>>()?;
    Ok(StressResults {
        results,
        wall_seconds: started.elapsed().as_secs_f64(),
        threads,
    })
}

/// Write `stress-test.md` and `stress-test.json` into `out`, print the Markdown.
pub fn write(base: &Scenario, r: &StressResults, out: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let md = markdown(base, &r.results, r.wall_seconds, r.threads);
    let md_path = out.join("stress-test.md");
    std::fs::write(&md_path, &md)
        .map_err(|e| format!("cannot write {}: {e}", md_path.display()))?;
    let json_path = out.join("stress-test.json");
    let json = serde_json::to_string_pretty(&r.results).map_err(|e| e.to_string())?;
    std::fs::write(&json_path, json)
        .map_err(|e| format!("cannot write {}: {e}", json_path.display()))?;
    println!("{md}");
    Ok(vec![md_path, json_path])
}

fn markdown(base: &Scenario, results: &[WindowResult], wall: f64, threads: usize) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Stress test: crashes in the shipped data, dynamic vs fixed margin\n"
    );
    let path = results
        .first()
        .map(|r| {
            format!(
                "path {}, keeper latency {} update(s)",
                r.dynamic.path.name(),
                r.dynamic.keeper_latency_updates
            )
        })
        .unwrap_or_default();
    let _ = writeln!(
        md,
        "Generated by `cargo run --release -p tidepool-sim -- stress --out docs` (Binance spot \
         candles; provenance in `data/SOURCES.md`). Each window runs the real program on the \
         in-process runtime with {} LPs ({} USDC each), {} traders (capital {}–{} USDC) opening \
         at {:.0} % of the highest leverage the margin allows, and a keeper acting after every \
         oracle update: {path}. Two crowds: **long** (85 % of opens long, into the crash) and \
         **short** (15 % long). The fixed-margin run uses the base margin only (volatility \
         multiplier, pool stress and size margin at zero: `sim/src/margin.rs`), maintenance at \
         half the initial margin, with the initial \
         margin iterated (at most {} runs) until the fixed run's measured average leverage is \
         within {:.0} % of the dynamic run's, so traders carry the same leverage on average. \
         Seed {}. {} runs on {} thread(s) in {:.0} s.\n",
        base.lps.count,
        base.lps.initial_deposit,
        base.traders.count,
        base.traders.capital_min,
        base.traders.capital_max,
        STRESS_LEVERAGE_SHARE * 100.0,
        MAX_ITERATIONS,
        LEVERAGE_TOLERANCE * 100.0,
        base.seed,
        results
            .iter()
            .map(|r| 1 + r.leverage_match.iterations as usize)
            .sum::<usize>(),
        threads,
        wall,
    );
    let _ = writeln!(
        md,
        "Columns: *LP drawdown* is the largest fall of the LP share price from its running \
         peak (per candle); *ADL* counts auto-deleveraging transactions (a position at its \
         reserve cap, or the pool's traders over its PnL cap); *capped* \
         counts profitable closes whose profit hit the position's reserve and the profit cut \
         off; *opens refused* counts opens the program (or its quote) refused.\n"
    );
    let _ = writeln!(
        md,
        "| window | crowd | margin | avg leverage | leverage match | positions | opens refused | liquidations (full) | ADL | capped (USDC) | bad debt (USDC) | LP drawdown | LP return | peak utilization |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in results {
        let m = &r.leverage_match;
        let matched = format!(
            "{:.2}x vs {:.2}x, {} run{}{}",
            m.leverage,
            m.target_leverage,
            m.iterations,
            if m.iterations == 1 { "" } else { "s" },
            if m.converged {
                String::new()
            } else {
                format!(
                    ", **not converged** ({:+.1} %)",
                    (m.leverage / m.target_leverage.max(1e-9) - 1.0) * 100.0
                )
            }
        );
        for (label, o, matched) in [
            ("dynamic".to_string(), &r.dynamic, "target".to_string()),
            (
                format!("fixed {:.2} %", m.initial_margin_bps as f64 / 100.0),
                &r.fixed,
                matched,
            ),
        ] {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.2}x | {} | {} | {} | {} ({}) | {} | {} ({:.0}) | {:.2} | {:.3} % | {:+.3} % | {:.1} % |",
                r.window,
                r.crowd.name(),
                label,
                o.average_leverage,
                matched,
                o.positions_opened,
                o.opens_refused.values().sum::<u64>(),
                o.liquidations,
                o.full_liquidations,
                o.deleveraged,
                o.payouts_capped,
                o.payouts_capped_amount,
                o.bad_debt,
                o.max_share_price_drawdown * 100.0,
                o.lp_return * 100.0,
                o.peak_utilization * 100.0,
            );
        }
    }
    let _ = writeln!(md, "\n## Bad debt, dynamic vs fixed\n");
    let (mut wins, mut total) = (0, 0);
    for r in results {
        total += 1;
        let better = r.dynamic.bad_debt < r.fixed.bad_debt;
        wins += better as usize;
        let _ = writeln!(
            md,
            "- {} / {} crowd: {:.0} vs {:.0} USDC ({}){}",
            r.window,
            r.crowd.name(),
            r.dynamic.bad_debt,
            r.fixed.bad_debt,
            if better {
                "dynamic lower"
            } else if r.dynamic.bad_debt == r.fixed.bad_debt {
                "equal"
            } else {
                "fixed lower"
            },
            if r.leverage_match.converged {
                ""
            } else {
                "; leverage not matched within tolerance"
            }
        );
    }
    let _ = writeln!(
        md,
        "\nDynamic margin left less bad debt in {wins} of {total} window/crowd runs."
    );
    let refusals: std::collections::BTreeMap<String, u64> = results
        .iter()
        .flat_map(|r| r.dynamic.opens_refused.iter().chain(&r.fixed.opens_refused))
        .fold(Default::default(), |mut acc, (k, v)| {
            *acc.entry(k.clone()).or_default() += v;
            acc
        });
    if !refusals.is_empty() {
        let _ = writeln!(
            md,
            "\n## Opens refused, all runs\n\n| error | count |\n|---|---|"
        );
        for (k, v) in refusals {
            let _ = writeln!(md, "| {k} | {v} |");
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic fixed run: leverage `k / im` (traders at a share of 1 / im).
    fn inverse(k: f64) -> impl FnMut(u16) -> Result<(f64, u16), String> {
        move |bps| Ok((k / bps as f64, bps))
    }

    #[test]
    fn an_inverse_response_converges_at_once_from_a_good_guess() {
        // Target 11.7x with k = 9500: im = 812 bps.
        let (m, payload) = match_leverage(11.7, 9_500.0 / 11.7, 0.02, 6, inverse(9_500.0)).unwrap();
        assert!(m.converged);
        assert_eq!(m.iterations, 1);
        assert_eq!(payload, m.initial_margin_bps);
        assert!((m.leverage / 11.7 - 1.0).abs() <= 0.02);
    }

    #[test]
    fn a_bad_guess_is_corrected() {
        // Traders size down below the nominal leverage: k is 15 % lower than the guess
        // assumes, and leverage saturates at 15x.
        let mut runs = 0;
        let (m, _) = match_leverage(10.0, 950.0, 0.02, 6, |bps| {
            runs += 1;
            Ok(((8_000.0 / bps as f64).min(15.0), ()))
        })
        .unwrap();
        assert!(m.converged, "{m:?}");
        assert_eq!(m.iterations, runs);
        assert!(m.iterations <= 3, "{m:?}");
        assert!((m.leverage / 10.0 - 1.0).abs() <= 0.02);
        assert_eq!(m.tried[0].0, 950);
    }

    #[test]
    fn a_jump_past_the_target_is_bisected_and_reported_not_converged() {
        // Leverage jumps from 12x to 8x between 700 and 701 bps: no margin gives 10x.
        let (m, _) = match_leverage(10.0, 600.0, 0.02, 6, |bps| {
            Ok((if bps <= 700 { 12.0 } else { 8.0 }, ()))
        })
        .unwrap();
        assert!(!m.converged, "{m:?}");
        assert!(m.iterations <= 6);
        // It kept the closest run (both are 20 % off; the first found stays).
        assert!((m.leverage - 12.0).abs() < 1e-9 || (m.leverage - 8.0).abs() < 1e-9);
        // Once bracketed, every margin tried after lies inside the bracket.
        let lo = m
            .tried
            .iter()
            .filter(|(_, l)| *l > 10.0)
            .map(|(b, _)| *b)
            .max()
            .unwrap();
        let hi = m
            .tried
            .iter()
            .filter(|(_, l)| *l < 10.0)
            .map(|(b, _)| *b)
            .min()
            .unwrap();
        assert!(lo <= 700 && hi >= 701, "{m:?}");
    }

    #[test]
    fn a_flat_response_stops_at_the_cap() {
        let (m, _) = match_leverage(10.0, 500.0, 0.02, 4, |_| Ok((5.0, ()))).unwrap();
        assert!(!m.converged);
        assert!(m.iterations <= 4);
        let e = match_leverage(10.0, 500.0, 0.02, 4, |_| -> Result<(f64, ()), String> {
            Err("boom".into())
        })
        .unwrap_err();
        assert_eq!(e, "boom");
    }

    #[test]
    fn windows_are_selected_by_id() {
        assert_eq!(select_windows(&[]).unwrap().len(), 6);
        let w = select_windows(&["btc-2020-03".into()]).unwrap();
        assert_eq!(w[0].data, "BTC_USDT-1h.json");
        let e = select_windows(&["mars".into()]).unwrap_err();
        assert!(
            e.contains("unknown window `mars`") && e.contains("sol-2022-11-15m"),
            "{e}"
        );
    }

    #[test]
    fn every_window_loads_from_the_shipped_data() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
        for w in WINDOWS {
            let mut s = Scenario::default();
            s.markets[0].data = dir.join(w.data);
            s.start = w.start.into();
            s.end = w.end.into();
            s.warmup_hours = w.warmup_hours;
            let p = crate::run::prepare(&s, &Window::of(&s))
                .unwrap_or_else(|e| panic!("{}: {e}", w.id));
            assert!(p.len() > 500, "{}: {} candles", w.id, p.len());
        }
    }
}
