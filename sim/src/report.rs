//! Reports: Markdown for people, JSON for programs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::data::format_time;
use crate::run::Outcome;
use crate::scenario::Scenario;

#[derive(Serialize)]
struct JsonReport<'a> {
    scenario: ScenarioSummary<'a>,
    outcome: &'a Outcome,
}

#[derive(Serialize)]
struct ScenarioSummary<'a> {
    data: String,
    start: &'a str,
    end: &'a str,
    seed: u64,
    lps: usize,
}

/// Write `report.md` and `report.json` into `dir`; returns their paths.
pub fn write(dir: &Path, s: &Scenario, o: &Outcome) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = serde_json::to_string_pretty(&JsonReport {
        scenario: ScenarioSummary {
            data: s.data.display().to_string(),
            start: &s.start,
            end: &s.end,
            seed: s.seed,
            lps: s.lps.count,
        },
        outcome: o,
    })
    .map_err(|e| e.to_string())?;
    let json_path = dir.join("report.json");
    std::fs::write(&json_path, json)
        .map_err(|e| format!("cannot write {}: {e}", json_path.display()))?;
    let md_path = dir.join("report.md");
    std::fs::write(&md_path, markdown(s, o))
        .map_err(|e| format!("cannot write {}: {e}", md_path.display()))?;
    let mut files = vec![md_path, json_path];
    files.extend(charts(&dir.join("charts"), o)?);
    Ok(files)
}

/// The charts of a run, as PNG files in `dir`.
pub fn charts(dir: &Path, o: &Outcome) -> Result<Vec<PathBuf>, String> {
    use crate::chart::{line_chart, Series, BLUE, GREEN, ORANGE, PURPLE, RED};
    use crate::run::Sample;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let series = |label, color, f: &dyn Fn(&Sample) -> f64| Series {
        label,
        color,
        points: o.samples.iter().map(|x| (x.time as f64, f(x))).collect(),
    };
    let day = |t: f64| format_time(t as i64)[5..10].to_string();
    let charts: Vec<(&str, &str, &str, Vec<Series>)> = vec![
        (
            "price.png",
            "Oracle price (USD)",
            "",
            vec![series("SOL", BLUE, &|x| x.price)],
        ),
        (
            "lp_share_price.png",
            "LP share price (USDC per share)",
            "",
            vec![series("withdrawal price", GREEN, &|x| x.share_price)],
        ),
        (
            "pool_value.png",
            "Pool value (USDC)",
            "",
            vec![series("pool value", BLUE, &|x| x.pool_value)],
        ),
        (
            "utilization.png",
            "Utilization: reserved / LP balance",
            " %",
            vec![series("utilization", PURPLE, &|x| x.utilization * 100.0)],
        ),
        (
            "open_interest.png",
            "Open interest (USD of entry notional)",
            "",
            vec![
                series("long", GREEN, &|x| x.long_open_interest),
                series("short", RED, &|x| x.short_open_interest),
            ],
        ),
        (
            "margin.png",
            "Margin for a 10k USD position, and volatility",
            " %",
            vec![
                series("initial margin", BLUE, &|x| x.initial_margin * 100.0),
                series("maintenance margin", ORANGE, &|x| {
                    x.maintenance_margin * 100.0
                }),
                series("daily volatility", PURPLE, &|x| x.volatility * 100.0),
            ],
        ),
        (
            "liquidations.png",
            "Liquidations (cumulative)",
            "",
            vec![series("liquidations", RED, &|x| x.liquidations as f64)],
        ),
        (
            "bad_debt.png",
            "Bad debt absorbed by LPs (USDC, cumulative)",
            "",
            vec![series("bad debt", RED, &|x| x.bad_debt)],
        ),
    ];
    let mut files = Vec::new();
    for (file, title, unit, s) in charts {
        let path = dir.join(file);
        line_chart(&path, title, unit, &s, day)?;
        files.push(path);
    }
    Ok(files)
}

pub fn markdown(s: &Scenario, o: &Outcome) -> String {
    let mut md = String::new();
    let first = o.samples.first().expect("at least two samples");
    let last = o.samples.last().expect("at least two samples");
    let peak_vol = o.samples.iter().map(|x| x.volatility).fold(0.0, f64::max);
    let _ = writeln!(md, "# Tidepool simulation\n");
    let _ = writeln!(
        md,
        "{} from {} to {} ({} hourly steps), seed {}, {} LPs, {} traders, a keeper. The real \
         Tidepool program ran on an in-process Solana runtime with SPL Token and Pyth \
         `PriceUpdateV2` accounts; the books were checked against SPEC §7 after every step.\n",
        s.data.display(),
        format_time(first.time),
        format_time(last.time),
        o.samples.len(),
        s.seed,
        s.lps.count,
        s.traders.count
    );
    let _ = writeln!(md, "| figure | value |\n|---|---|");
    let rows = [
        (
            "price, first → last (USD)",
            format!("{:.2} → {:.2}", first.price, last.price),
        ),
        (
            "pool value, first → last (USDC)",
            format!("{:.2} → {:.2}", first.pool_value, last.pool_value),
        ),
        (
            "LP share price, first → last",
            format!("{:.6} → {:.6}", first.share_price, last.share_price),
        ),
        ("LP return", format!("{:+.4} %", o.lp_return * 100.0)),
        (
            "max share-price drawdown",
            format!("{:.4} %", o.max_share_price_drawdown * 100.0),
        ),
        (
            "peak on-chain volatility (per horizon)",
            format!("{:.2} %", peak_vol * 100.0),
        ),
        (
            "LP deposits / withdrawals",
            format!("{} / {}", o.lp_deposits, o.lp_withdrawals),
        ),
        (
            "transactions ok / failed",
            format!("{} / {}", o.transactions_ok, o.transactions_failed),
        ),
        (
            "transactions per second",
            format!("{:.0}", o.transactions_per_second),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(md, "| {k} | {v} |");
    }
    if !o.failures.is_empty() {
        let _ = writeln!(
            md,
            "\n## Refused transactions\n\n| error | count |\n|---|---|"
        );
        for (k, v) in &o.failures {
            let _ = writeln!(md, "| {k} | {v} |");
        }
    }
    let _ = writeln!(md, "\n## Daily\n\n| day (UTC) | price | volatility | initial margin | utilization | OI long / short | liquidations | pool value | share price |\n|---|---|---|---|---|---|---|---|---|");
    for x in o.samples.iter().filter(|x| x.time % 86_400 == 0) {
        let _ = writeln!(
            md,
            "| {} | {:.2} | {:.2} % | {:.2} % | {:.1} % | {:.0} / {:.0} | {} | {:.0} | {:.6} |",
            &format_time(x.time)[..10],
            x.price,
            x.volatility * 100.0,
            x.initial_margin * 100.0,
            x.utilization * 100.0,
            x.long_open_interest,
            x.short_open_interest,
            x.liquidations,
            x.pool_value,
            x.share_price
        );
    }
    md
}
