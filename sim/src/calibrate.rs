//! `calibrate`: choose the margin model's parameters from real crashes, and judge the choice
//! on crashes it was not chosen on.
//!
//! 1. **The fixed frontier.** For every window and crowd, fixed-margin runs over a ladder of
//!    initial margins give bad debt and LP drawdown as functions of average leverage.
//! 2. **The dynamic grid.** Every candidate `(z, h, base_mm, τ_fast)` runs every window
//!    and crowd; its bad debt is compared with the fixed frontier *at the candidate's own
//!    average leverage* (interpolated), so a candidate cannot win by lowering leverage.
//! 3. **Selection on SOL only.** A candidate passes a crash run when its bad debt is at
//!    most a third of the fixed margin's (or negligible) and at most 0.25 % of the pool, and
//!    its LP drawdown is no worse than the fixed margin's; and in the calm SOL month its
//!    leverage is at least its average crash-window leverage (the fixed margin it is compared
//!    with), so it wins by cutting leverage when it matters, not everywhere. Of the
//!    candidates passing every SOL run with a safety factor (bad debt at most a tenth of the
//!    target), the one with the highest average leverage is chosen.
//! 4. **Held out.** The BTC windows (two crashes and a calm month) are not used to choose;
//!    the chosen candidate's results on them are reported as they come. (Honesty note: the
//!    safety factor was added after the first rule's choice failed BTC March 2020, so BTC
//!    informed the rule, though not the parameters; the real test is other assets' crashes.)
//! 5. **The pool PnL cap** for the chosen margin, with a crowd mostly on the winning side and
//!    traders ten times richer than the stress population: the largest cap that keeps the
//!    LP share price within 10 % of its running peak in every crash window.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::ProgressBar;
use serde::Serialize;

use crate::run::{run_window, Outcome, Window};
use crate::scenario::{MarginMode, Scenario};
use crate::stress::{parallel, window_scenario, Crowd, StressWindow, CALM_WINDOWS, WINDOWS};

/// Fixed initial margins of the frontier, bps (maintenance at half).
const FIXED_LADDER: [u16; 8] = [600, 750, 900, 1_100, 1_300, 1_600, 2_000, 2_500];
/// Bad debt below this share of the pool counts as none (a third of nothing is nothing).
const NEGLIGIBLE_BAD_DEBT: f64 = 0.000_1;
/// The target: bad debt at most this share of the pool in every window.
const MAX_BAD_DEBT: f64 = 0.002_5;
/// Selection asks this much more than the target (bad debt at most half of it in every
/// window): a crash elsewhere can be worse than any in the shipped data. (Choosing on SOL
/// alone picked candidates that failed BTC March 2020; see docs/calibration.md.)
const SAFETY: f64 = 2.0;
/// LP drawdown "no worse" than fixed, with this much room for noise (share of price).
const DRAWDOWN_SLACK: f64 = 0.002_5;
/// Pool caps while the margin is chosen: loose (50 % of pool value, net exposure up to the
/// whole LP balance).
const MARGIN_STAGE_PNL_CAP: u16 = 5_000;
const MARGIN_STAGE_EXPOSURE_CAP: u32 = 10_000;
/// PnL caps tried, bps of pool value.
const PNL_CAPS: [u16; 3] = [500, 1_000, 2_500];
/// Net exposure caps tried, bps of the LP balance (100000: 10x, in effect none).
const EXPOSURE_CAPS: [u32; 4] = [1_000, 2_000, 5_000, 100_000];
/// The LP drawdown the pool cap must hold to.
const MAX_LP_DRAWDOWN: f64 = 0.10;

/// One point of the dynamic grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Candidate {
    pub volatility_multiplier_bps: u32,
    pub liquidation_horizon_seconds: u32,
    pub base_maintenance_margin_bps: u16,
    pub base_initial_margin_bps: u16,
    pub fast_volatility_ewma_seconds: u32,
}

impl Candidate {
    fn label(&self) -> String {
        format!(
            "z {:.1}, h {} s, mm {:.2} %, im {:.2} %, τ_fast {} s",
            self.volatility_multiplier_bps as f64 / 10_000.0,
            self.liquidation_horizon_seconds,
            self.base_maintenance_margin_bps as f64 / 100.0,
            self.base_initial_margin_bps as f64 / 100.0,
            self.fast_volatility_ewma_seconds
        )
    }
}

/// The grid: confidence multiple, horizon, floors and the fast estimator's time constant.
pub fn grid() -> Vec<Candidate> {
    let mut out = Vec::new();
    for z in [30_000, 40_000, 50_000, 60_000] {
        for h in [1_800, 3_600, 7_200] {
            for (mm, im) in [(250, 500), (400, 650)] {
                for fast in [900, 1_800] {
                    out.push(Candidate {
                        volatility_multiplier_bps: z,
                        liquidation_horizon_seconds: h,
                        base_maintenance_margin_bps: mm,
                        base_initial_margin_bps: im,
                        fast_volatility_ewma_seconds: fast,
                    });
                }
            }
        }
    }
    out
}

/// What one run contributes.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Point {
    pub leverage: f64,
    /// Share of the pool's initial deposits.
    pub bad_debt: f64,
    pub drawdown: f64,
    pub deleveraged: u64,
    pub opens_refused: u64,
    pub lp_return: f64,
}

impl Point {
    fn of(o: &Outcome, pool: f64) -> Self {
        Self {
            leverage: o.average_leverage,
            bad_debt: o.bad_debt / pool,
            drawdown: o.max_share_price_drawdown,
            deleveraged: o.deleveraged,
            opens_refused: o.opens_refused.values().sum(),
            lp_return: o.lp_return,
        }
    }
}

/// Linear interpolation of `(leverage, value)` points (any order) at `leverage`, flat
/// beyond the ends.
pub fn interpolate(points: &[(f64, f64)], leverage: f64) -> f64 {
    let mut p: Vec<(f64, f64)> = points.to_vec();
    p.sort_by(|a, b| a.0.total_cmp(&b.0));
    let Some(first) = p.first() else {
        return 0.0;
    };
    if leverage <= first.0 {
        return first.1;
    }
    for w in p.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        if leverage <= x1 {
            if x1 <= x0 {
                return y1;
            }
            return y0 + (y1 - y0) * (leverage - x0) / (x1 - x0);
        }
    }
    p.last().map_or(0.0, |l| l.1)
}

/// A dynamic run beside the fixed margin at its leverage.
#[derive(Debug, Clone, Serialize)]
pub struct Judged {
    pub window: String,
    pub crowd: Crowd,
    pub dynamic: Point,
    /// Fixed margin's bad debt and drawdown at the dynamic run's leverage.
    pub fixed_bad_debt: f64,
    pub fixed_drawdown: f64,
    pub passes: bool,
    /// Passes with bad debt at most `MAX_BAD_DEBT / SAFETY`: what selection asks.
    pub passes_with_safety: bool,
}

fn judge(window: &str, crowd: Crowd, d: Point, frontier: &[Point]) -> Judged {
    let fixed_bad_debt = interpolate(
        &frontier
            .iter()
            .map(|p| (p.leverage, p.bad_debt))
            .collect::<Vec<_>>(),
        d.leverage,
    );
    let fixed_drawdown = interpolate(
        &frontier
            .iter()
            .map(|p| (p.leverage, p.drawdown))
            .collect::<Vec<_>>(),
        d.leverage,
    );
    let passes = (d.bad_debt <= fixed_bad_debt / 3.0 || d.bad_debt <= NEGLIGIBLE_BAD_DEBT)
        && d.bad_debt <= MAX_BAD_DEBT
        && d.drawdown <= fixed_drawdown + DRAWDOWN_SLACK;
    Judged {
        window: window.into(),
        crowd,
        dynamic: d,
        fixed_bad_debt,
        fixed_drawdown,
        passes,
        passes_with_safety: passes && d.bad_debt <= MAX_BAD_DEBT / SAFETY,
    }
}

/// One candidate over every window.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateResult {
    pub candidate: Candidate,
    pub crashes: Vec<Judged>,
    /// (window, leverage) in the calm months.
    pub calm: Vec<(String, f64)>,
    /// Average leverage over every crash run; every check passed; every check passed with
    /// bad debt at most `MAX_BAD_DEBT / SAFETY` (what selection asks).
    pub leverage: f64,
    pub passes: bool,
    pub safe: bool,
    /// The same over the SOL windows and the BTC windows alone (the split experiment).
    pub sol_leverage: f64,
    pub sol_passes: bool,
    pub btc_passes: bool,
}

fn is_sol(w: &StressWindow) -> bool {
    w.symbol.starts_with("SOL")
}

#[derive(Serialize)]
struct PnlCapRow {
    max_pnl_factor_bps: u16,
    max_net_exposure_bps: u32,
    window: String,
    point: Point,
}

/// The fixed margin's runs of one window and crowd: (window, crowd, [(im bps, point)]).
type Frontier = (String, Crowd, Vec<(u16, Point)>);

#[derive(Serialize)]
struct Calibration {
    frontier: Vec<Frontier>,
    candidates: Vec<CandidateResult>,
    chosen: Option<Candidate>,
    sol_only: Option<Candidate>,
    pnl_caps: Vec<PnlCapRow>,
    /// (max_pnl_factor_bps, max_net_exposure_bps)
    chosen_pool_caps: Option<(u16, u32)>,
    runs: usize,
    wall_seconds: f64,
}

enum Job {
    Fixed(StressWindow, Crowd, u16),
    Dynamic(StressWindow, Crowd, usize),
}

fn with_candidate(s: &mut Scenario, c: &Candidate) {
    let m = &mut s.markets[0];
    m.margin = MarginMode::Dynamic;
    m.volatility_multiplier_bps = c.volatility_multiplier_bps;
    m.liquidation_horizon_seconds = c.liquidation_horizon_seconds;
    m.base_maintenance_margin_bps = c.base_maintenance_margin_bps;
    m.base_initial_margin_bps = c.base_initial_margin_bps;
    m.fast_volatility_ewma_seconds = c.fast_volatility_ewma_seconds;
}

/// Run the calibration and write `calibration.md` and `calibration.json` into `out`;
/// returns the Markdown and the files written.
pub fn run(base: &Scenario, data_dir: &Path, out: &Path) -> Result<(String, Vec<PathBuf>), String> {
    let started = Instant::now();
    let pool = base.lps.count as f64 * base.lps.initial_deposit as f64;
    let candidates = grid();
    let crash: Vec<(StressWindow, Crowd)> = WINDOWS
        .iter()
        .flat_map(|w| [(*w, Crowd::Long), (*w, Crowd::Short)])
        .collect();
    let calm: Vec<(StressWindow, Crowd)> = CALM_WINDOWS.iter().map(|w| (*w, Crowd::Long)).collect();
    let mut jobs = Vec::new();
    for (w, c) in &crash {
        for im in FIXED_LADDER {
            jobs.push(Job::Fixed(*w, *c, im));
        }
    }
    for i in 0..candidates.len() {
        for (w, c) in crash.iter().chain(&calm) {
            jobs.push(Job::Dynamic(*w, *c, i));
        }
    }
    let runs = jobs.len();
    let bar = ProgressBar::new(runs as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "  calibrate {bar:40} {pos}/{len} runs  {elapsed}, ~{eta} left",
        )
        .expect("static template"),
    );
    let hidden = ProgressBar::hidden();
    // One run of a prepared scenario, as a point of the report.
    let measure = |s: &Scenario| -> Result<Point, String> {
        let o = run_window(s, &Window::of(s), &hidden)?;
        bar.inc(1);
        Ok(Point::of(&o, pool))
    };
    let run_job = |job: &Job| -> Result<Point, String> {
        let mut s = match job {
            Job::Fixed(w, crowd, im) => {
                let mut s = window_scenario(base, data_dir, w, *crowd);
                s.markets[0].margin = MarginMode::Fixed;
                s.markets[0].base_initial_margin_bps = *im;
                s.markets[0].base_maintenance_margin_bps = im / 2;
                s
            }
            Job::Dynamic(w, crowd, i) => {
                let mut s = window_scenario(base, data_dir, w, *crowd);
                with_candidate(&mut s, &candidates[*i]);
                s
            }
        };
        // Margin first, with loose pool caps (the caps come next, for the chosen margin), so
        // that this stage does not depend on the caps' current defaults.
        s.pool.max_pnl_factor_bps = MARGIN_STAGE_PNL_CAP;
        s.pool.max_net_exposure_bps = MARGIN_STAGE_EXPOSURE_CAP;
        measure(&s)
    };
    let (points, threads) = parallel(jobs.iter().collect(), run_job);
    let points: Vec<Point> = points.into_iter().collect::<Result<_, _>>()?;

    // The fixed frontier per (window, crowd).
    let mut frontier: Vec<Frontier> = Vec::new();
    let mut dynamic: Vec<Vec<Point>> = vec![Vec::new(); candidates.len()];
    for (job, p) in jobs.iter().zip(&points) {
        match job {
            Job::Fixed(w, c, im) => {
                match frontier.iter_mut().find(|(n, k, _)| n == w.name && k == c) {
                    Some(f) => f.2.push((*im, *p)),
                    None => frontier.push((w.name.into(), *c, vec![(*im, *p)])),
                }
            }
            Job::Dynamic(_, _, i) => dynamic[*i].push(*p),
        }
    }
    let results: Vec<CandidateResult> = candidates
        .iter()
        .zip(&dynamic)
        .map(|(cand, pts)| {
            let mut crashes = Vec::new();
            let mut calm_lev = Vec::new();
            for ((w, c), p) in crash.iter().chain(&calm).zip(pts) {
                if CALM_WINDOWS.iter().any(|x| x.id == w.id) {
                    calm_lev.push((w.name.to_string(), p.leverage));
                    continue;
                }
                let f = frontier
                    .iter()
                    .find(|(n, k, _)| n == w.name && k == c)
                    .map(|(_, _, f)| f.iter().map(|(_, p)| *p).collect::<Vec<_>>())
                    .unwrap_or_default();
                crashes.push(judge(w.name, *c, *p, &f));
            }
            let group = |keep: &dyn Fn(&StressWindow) -> bool| {
                let runs: Vec<&Judged> = crash
                    .iter()
                    .zip(&crashes)
                    .filter(|((w, _), _)| keep(w))
                    .map(|(_, j)| j)
                    .collect();
                let lev =
                    runs.iter().map(|j| j.dynamic.leverage).sum::<f64>() / runs.len().max(1) as f64;
                let calm_ok = CALM_WINDOWS
                    .iter()
                    .zip(&calm_lev)
                    .filter(|(w, _)| keep(w))
                    .all(|(_, (_, l))| *l >= lev);
                (
                    lev,
                    calm_ok && runs.iter().all(|j| j.passes),
                    calm_ok && runs.iter().all(|j| j.passes_with_safety),
                )
            };
            let (leverage, passes, safe) = group(&|_| true);
            let (sol_leverage, sol_passes, _) = group(&is_sol);
            let (_, btc_passes, _) = group(&|w| !is_sol(w));
            CandidateResult {
                candidate: *cand,
                crashes,
                calm: calm_lev,
                leverage,
                passes,
                safe,
                sol_leverage,
                sol_passes,
                btc_passes,
            }
        })
        .collect();
    let chosen = results
        .iter()
        .filter(|r| r.safe)
        .max_by(|a, b| a.leverage.total_cmp(&b.leverage))
        .map(|r| r.candidate);
    // The split experiment: what choosing on SOL alone would have picked.
    let sol_only = results
        .iter()
        .filter(|r| r.sol_passes)
        .max_by(|a, b| a.sol_leverage.total_cmp(&b.sol_leverage))
        .map(|r| r.candidate);

    // The pool cap, for the chosen margin (or the scenario's when none passed).
    let mut cap_base = base.clone();
    if let Some(c) = &chosen {
        with_candidate(&mut cap_base, c);
    }
    let cap_jobs: Vec<(StressWindow, u16, u32)> = PNL_CAPS
        .iter()
        .flat_map(|cap| EXPOSURE_CAPS.iter().map(move |x| (*cap, *x)))
        .flat_map(|(cap, x)| WINDOWS.iter().map(move |w| (*w, cap, x)))
        .collect();
    bar.set_length((runs + cap_jobs.len()) as u64);
    let run_cap = |(w, cap, exposure): &(StressWindow, u16, u32)| -> Result<Point, String> {
        let mut s = window_scenario(&cap_base, data_dir, w, Crowd::Short);
        s.pool.max_pnl_factor_bps = *cap;
        s.pool.max_net_exposure_bps = *exposure;
        // Traders ten times richer: enough to move a pool this size.
        s.traders.capital_min *= 10;
        s.traders.capital_max *= 10;
        measure(&s)
    };
    let (cap_points, _) = parallel(cap_jobs.iter().collect(), run_cap);
    let mut pnl_caps = Vec::new();
    for ((w, cap, exposure), r) in cap_jobs.iter().zip(cap_points) {
        pnl_caps.push(PnlCapRow {
            max_pnl_factor_bps: *cap,
            max_net_exposure_bps: *exposure,
            window: w.name.into(),
            point: r?,
        });
    }
    bar.finish_and_clear();
    // The least restrictive pair (widest exposure cap, then widest PnL cap) that holds.
    let chosen_pool_caps = EXPOSURE_CAPS
        .iter()
        .rev()
        .flat_map(|x| PNL_CAPS.iter().rev().map(move |cap| (*cap, *x)))
        .find(|(cap, x)| {
            pnl_caps
                .iter()
                .filter(|r| r.max_pnl_factor_bps == *cap && r.max_net_exposure_bps == *x)
                .all(|r| r.point.drawdown <= MAX_LP_DRAWDOWN)
        });

    let c = Calibration {
        frontier,
        candidates: results,
        chosen,
        sol_only,
        pnl_caps,
        chosen_pool_caps,
        runs: runs + cap_jobs.len(),
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let md = markdown(base, &c, threads);
    let md_path = out.join("calibration.md");
    std::fs::write(&md_path, &md)
        .map_err(|e| format!("cannot write {}: {e}", md_path.display()))?;
    let json_path = out.join("calibration.json");
    let json = serde_json::to_string_pretty(&c).map_err(|e| e.to_string())?;
    std::fs::write(&json_path, json)
        .map_err(|e| format!("cannot write {}: {e}", json_path.display()))?;
    Ok((md, vec![md_path, json_path]))
}

fn pct(x: f64) -> String {
    format!("{:.3} %", x * 100.0)
}

fn markdown(base: &Scenario, c: &Calibration, threads: usize) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Margin calibration\n");
    let _ = writeln!(
        md,
        "Generated by `cargo run --release -p tidepool-sim -- calibrate --out docs` ({} runs of \
         the real program on {} thread(s) in {:.0} s). Population: {} LPs × {} USDC, {} traders \
         ({}–{} USDC) opening at 95 % of the highest leverage the margin allows, keeper after \
         every oracle update (candle path open → low/high → close). Method and criteria: \
         `sim/src/calibrate.rs`; the model: [`risk-model.md`](risk-model.md). Bad debt and \
         drawdown are shares of the pool. A candidate passes a crash run when its bad debt is \
         at most a third of the fixed margin's at the same average leverage (or under {}) and \
         at most {}, and its LP drawdown is no worse than the fixed margin's (+{}); and in the \
         calm months its leverage is at least its crash-window average. **Chosen:** the most \
         leveraged candidate passing every shipped window with bad debt at most {} (a safety \
         factor of {} on the target, for crashes worse than ours).\n",
        c.runs,
        threads,
        c.wall_seconds,
        base.lps.count,
        base.lps.initial_deposit,
        base.traders.count,
        base.traders.capital_min,
        base.traders.capital_max,
        pct(NEGLIGIBLE_BAD_DEBT),
        pct(MAX_BAD_DEBT),
        pct(DRAWDOWN_SLACK),
        pct(MAX_BAD_DEBT / SAFETY),
        SAFETY,
    );
    match &c.chosen {
        Some(ch) => {
            let _ = writeln!(md, "**Chosen:** {}.\n", ch.label());
        }
        None => {
            let _ = writeln!(md, "**No candidate passed every check.**\n");
        }
    }
    if let Some(r) = c
        .sol_only
        .and_then(|ch| c.candidates.iter().find(|r| r.candidate == ch))
    {
        let _ = writeln!(
            md,
            "**The split experiment.** Choosing on the SOL windows alone (BTC held out) would \
             have picked {} ({:.2}x on SOL); on the held-out BTC windows it **{}**. The shipped \
             SOL crashes are milder, relative to the volatility before them, than BTC's March \
             2020; a rule tuned to the most leverage that passes the windows it sees fails the \
             next, worse one. Hence the choice over every window with a safety factor; crashes \
             of other assets remain the real test.\n",
            r.candidate.label(),
            r.sol_leverage,
            if r.btc_passes { "passes" } else { "fails" }
        );
    }
    let _ = writeln!(
        md,
        "## Fixed margin frontier (bad debt at each initial margin)\n\n| window | crowd | {} |\n|---|---|{}",
        FIXED_LADDER
            .iter()
            .map(|im| format!("{:.1} %", *im as f64 / 100.0))
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(FIXED_LADDER.len())
    );
    for (w, crowd, pts) in &c.frontier {
        let cells: Vec<String> = pts
            .iter()
            .map(|(_, p)| format!("{:.1}x: {}", p.leverage, pct(p.bad_debt)))
            .collect();
        let _ = writeln!(md, "| {w} | {} | {} |", crowd.name(), cells.join(" | "));
    }
    let _ = writeln!(
        md,
        "\n## Candidates\n\nLeverage: average over every crash run; checks: every window \
         (\"pass ×{}\": with the safety factor, which selection requires); SOL, BTC: the checks \
         on those windows alone; worst ratio: the largest dynamic / fixed bad debt at equal \
         leverage over all crash runs (fixed bad debt under {} counts as {}).\n\n| candidate | leverage | checks | SOL | BTC | worst bad debt | worst ratio | calm leverage |\n|---|---|---|---|---|---|---|---|",
        SAFETY,
        pct(NEGLIGIBLE_BAD_DEBT),
        pct(NEGLIGIBLE_BAD_DEBT)
    );
    let mut sorted: Vec<&CandidateResult> = c.candidates.iter().collect();
    sorted.sort_by(|a, b| {
        b.safe
            .cmp(&a.safe)
            .then(b.passes.cmp(&a.passes))
            .then(b.leverage.total_cmp(&a.leverage))
    });
    for r in sorted {
        let worst = r
            .crashes
            .iter()
            .map(|j| j.dynamic.bad_debt)
            .fold(0.0, f64::max);
        let ratio = r
            .crashes
            .iter()
            .map(|j| j.dynamic.bad_debt.max(0.0) / j.fixed_bad_debt.max(NEGLIGIBLE_BAD_DEBT))
            .fold(0.0, f64::max);
        let calm: Vec<String> = r.calm.iter().map(|(_, l)| format!("{l:.1}x")).collect();
        let mark = if Some(r.candidate) == c.chosen {
            " **(chosen)**"
        } else {
            ""
        };
        let _ = writeln!(
            md,
            "| {}{mark} | {:.2}x | {} | {} | {} | {} | {:.2} | {} |",
            r.candidate.label(),
            r.leverage,
            match (r.safe, r.passes) {
                (true, _) => format!("pass ×{SAFETY}"),
                (false, true) => "pass".into(),
                _ => "fail".into(),
            },
            if r.sol_passes { "pass" } else { "fail" },
            if r.btc_passes { "pass" } else { "fail" },
            pct(worst),
            ratio,
            calm.join(", ")
        );
    }
    if let Some(ch) = c
        .chosen
        .and_then(|ch| c.candidates.iter().find(|r| r.candidate == ch))
    {
        let _ = writeln!(
            md,
            "\n## The chosen candidate, run by run\n\n| window | crowd | leverage | bad debt | fixed at that leverage | drawdown | fixed drawdown | passes |\n|---|---|---|---|---|---|---|---|"
        );
        for j in &ch.crashes {
            let _ = writeln!(
                md,
                "| {} | {} | {:.2}x | {} | {} | {} | {} | {} |",
                j.window,
                j.crowd.name(),
                j.dynamic.leverage,
                pct(j.dynamic.bad_debt),
                pct(j.fixed_bad_debt),
                pct(j.dynamic.drawdown),
                pct(j.fixed_drawdown),
                if j.passes { "yes" } else { "**no**" }
            );
        }
        for (w, l) in &ch.calm {
            let _ = writeln!(md, "| {w} (calm) | long | {l:.2}x | | | | | |");
        }
    }
    let _ = writeln!(
        md,
        "\n## Pool caps: traders winning (short crowd, traders ×10 capital)\n\nThe chosen margin, \
         the crowd mostly short into each crash and rich enough to move the pool. The least \
         restrictive (net exposure cap, PnL cap) keeping the LP share price within {} of its \
         running peak in every crash window: **{}**. Traders are paid every cent the rules \
         promise: deleveraging closes at the oracle fill with the profit paid; what the caps \
         cost them is the positions deleveraged (ADL) and the opens refused.\n\n| net exposure cap | max_pnl_factor | window | LP drawdown | LP return | ADL | opens refused | bad debt |\n|---|---|---|---|---|---|---|---|",
        pct(MAX_LP_DRAWDOWN),
        c.chosen_pool_caps.map_or("none".to_string(), |(cap, x)| format!(
            "net exposure ≤ {:.0} % of the LP balance, PnL cap {:.0} % of pool value",
            x as f64 / 100.0,
            cap as f64 / 100.0
        ))
    );
    for r in &c.pnl_caps {
        let p = &r.point;
        let _ = writeln!(
            md,
            "| {:.0} % | {:.0} % | {} | {} | {:+.3} % | {} | {} | {} |",
            r.max_net_exposure_bps as f64 / 100.0,
            r.max_pnl_factor_bps as f64 / 100.0,
            r.window,
            pct(p.drawdown),
            p.lp_return * 100.0,
            p.deleveraged,
            p.opens_refused,
            pct(p.bad_debt)
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_is_linear_and_flat_outside() {
        let pts = [(10.0, 0.04), (5.0, 0.01), (8.0, 0.02)];
        assert_eq!(interpolate(&pts, 4.0), 0.01);
        assert_eq!(interpolate(&pts, 12.0), 0.04);
        assert!((interpolate(&pts, 9.0) - 0.03).abs() < 1e-12);
        assert!((interpolate(&pts, 6.5) - 0.015).abs() < 1e-12);
        assert_eq!(interpolate(&[], 3.0), 0.0);
    }

    #[test]
    fn a_run_passes_only_below_a_third_of_fixed_and_the_cap() {
        let p = |leverage, bad_debt, drawdown| Point {
            leverage,
            bad_debt,
            drawdown,
            deleveraged: 0,
            opens_refused: 0,
            lp_return: 0.0,
        };
        let frontier = [p(5.0, 0.001, 0.02), p(10.0, 0.003, 0.03)];
        // At 7.5x the fixed margin leaves 0.2 %: a third is 0.0667 %.
        assert!(judge("w", Crowd::Long, p(7.5, 0.0006, 0.02), &frontier).passes);
        assert!(!judge("w", Crowd::Long, p(7.5, 0.0007, 0.02), &frontier).passes);
        // Negligible bad debt passes whatever the fixed margin did.
        let clean = [p(5.0, 0.0, 0.02), p(10.0, 0.0, 0.03)];
        assert!(judge("w", Crowd::Long, p(7.5, 0.00005, 0.02), &clean).passes);
        // A worse drawdown fails.
        assert!(!judge("w", Crowd::Long, p(7.5, 0.0, 0.04), &frontier).passes);
        // Over the absolute cap fails even when fixed was far worse.
        let bad = [p(5.0, 0.1, 0.02), p(10.0, 0.2, 0.03)];
        assert!(!judge("w", Crowd::Long, p(7.5, 0.003, 0.02), &bad).passes);
    }
}
