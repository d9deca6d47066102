//! Reports: Markdown for people, JSON for programs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::data::format_time;
use crate::run::{MarketSample, Outcome};
use crate::scenario::{MarketScenario, Scenario};

#[derive(Serialize)]
struct JsonReport<'a> {
    scenario: ScenarioSummary<'a>,
    outcome: &'a Outcome,
}

#[derive(Serialize)]
struct ScenarioSummary<'a> {
    markets: &'a [MarketScenario],
    start: &'a str,
    end: &'a str,
    warmup_hours: u32,
    seed: u64,
    lps: usize,
    traders: usize,
}

/// Write `report.md` and `report.json` into `dir`; returns their paths.
pub fn write(dir: &Path, s: &Scenario, o: &Outcome) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = serde_json::to_string_pretty(&JsonReport {
        scenario: ScenarioSummary {
            markets: &s.markets,
            start: &s.start,
            end: &s.end,
            warmup_hours: s.warmup_hours,
            seed: s.seed,
            lps: s.lps.count,
            traders: s.traders.count,
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

/// The charts of a run, as PNG files in `dir`: the pool's, then each market's (named
/// `price.png`, … with one market, `price-SYMBOL.png`, … with several).
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
    let mut charts: Vec<(String, String, &str, Vec<Series>)> = vec![
        (
            "lp_share_price.png".into(),
            "LP share price (USDC per share)".into(),
            "",
            vec![series("withdrawal price", GREEN, &|x| x.share_price)],
        ),
        (
            "pool_value.png".into(),
            "Pool value (USDC)".into(),
            "",
            vec![series("pool value", BLUE, &|x| x.pool_value)],
        ),
        (
            "utilization.png".into(),
            "Utilization: reserved / LP balance".into(),
            " %",
            vec![series("utilization", PURPLE, &|x| x.utilization * 100.0)],
        ),
        (
            "liquidations.png".into(),
            "Liquidations (cumulative)".into(),
            "",
            vec![series("liquidations", RED, &|x| x.liquidations as f64)],
        ),
        (
            "bad_debt.png".into(),
            "Bad debt absorbed by LPs (USDC, cumulative)".into(),
            "",
            vec![series("bad debt", RED, &|x| x.bad_debt)],
        ),
    ];
    let several = o.markets.len() > 1;
    for (i, m) in o.markets.iter().enumerate() {
        let file = |stem: &str| {
            if several {
                format!("{stem}-{}.png", m.symbol)
            } else {
                format!("{stem}.png")
            }
        };
        let title = |t: &str| {
            if several {
                format!("{}: {t}", m.symbol)
            } else {
                t.to_string()
            }
        };
        let ms = |label, color, f: &dyn Fn(&MarketSample) -> f64| Series {
            label,
            color,
            points: o
                .samples
                .iter()
                .map(|x| (x.time as f64, f(&x.markets[i])))
                .collect(),
        };
        charts.push((
            file("price"),
            title("Oracle price (USD)"),
            "",
            vec![ms(&m.symbol, BLUE, &|x| x.price)],
        ));
        charts.push((
            file("open_interest"),
            title("Open interest (USD of entry notional)"),
            "",
            vec![
                ms("long", GREEN, &|x| x.long_open_interest),
                ms("short", RED, &|x| x.short_open_interest),
            ],
        ));
        charts.push((
            file("margin"),
            title("Margin for a 10k USD position, and volatility"),
            " %",
            vec![
                ms("initial margin", BLUE, &|x| x.initial_margin * 100.0),
                ms("maintenance margin", ORANGE, &|x| {
                    x.maintenance_margin * 100.0
                }),
                ms("volatility (liquidation horizon)", PURPLE, &|x| {
                    x.volatility * 100.0
                }),
            ],
        ));
    }
    let mut files = Vec::new();
    for (file, title, unit, s) in charts {
        let path = dir.join(file);
        line_chart(&path, &title, unit, &s, day)?;
        files.push(path);
    }
    Ok(files)
}

/// How the run was driven, in one line (the report and the printed summary say it).
pub fn mode_line(o: &Outcome) -> String {
    format!(
        "path {}, {} oracle update(s) per {} s candle, keeper latency {} update(s)",
        o.path.name(),
        match o.path {
            crate::scenario::PathMode::Ohlc => 4,
            crate::scenario::PathMode::Close => 1,
        },
        o.candle_seconds,
        o.keeper_latency_updates
    )
}

fn counts(map: &std::collections::BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "none".into();
    }
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{v} × {k}")).collect();
    parts.join("; ")
}

pub fn markdown(s: &Scenario, o: &Outcome) -> String {
    let mut md = String::new();
    let first = o.samples.first().expect("at least one sample");
    let last = o.samples.last().expect("at least one sample");
    let _ = writeln!(md, "# Tidepool simulation\n");
    let markets: Vec<String> = o
        .markets
        .iter()
        .map(|m| {
            let file = Path::new(&m.data)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!("{} (`{file}`, {} margin)", m.symbol, m.margin.name())
        })
        .collect();
    let _ = writeln!(
        md,
        "Markets {} from {} to {} ({} candles of {} s after {} of warm-up), seed {}, {} LPs, \
         {} traders, a keeper; {}. The real Tidepool program ran on an in-process Solana \
         runtime with SPL Token and Pyth `PriceUpdateV2` accounts; the books were checked \
         against SPEC §7 after every candle.\n",
        markets.join(", "),
        format_time(first.time),
        format_time(last.time),
        o.samples.len(),
        o.candle_seconds,
        o.candles - o.trading_candles,
        s.seed,
        s.lps.count,
        s.traders.count,
        mode_line(o),
    );
    let _ = writeln!(md, "| figure | value |\n|---|---|");
    let mut rows = Vec::new();
    for (i, m) in o.markets.iter().enumerate() {
        let peak_vol = o
            .samples
            .iter()
            .map(|x| x.markets[i].volatility)
            .fold(0.0, f64::max);
        rows.push((
            format!("{} price, first → last (USD)", m.symbol),
            format!(
                "{:.2} → {:.2}",
                first.markets[i].price, last.markets[i].price
            ),
        ));
        rows.push((
            format!("{} peak on-chain volatility (per horizon)", m.symbol),
            format!("{:.2} %", peak_vol * 100.0),
        ));
        rows.push((
            format!("{} positions opened", m.symbol),
            m.positions_opened.to_string(),
        ));
    }
    rows.extend([
        (
            "pool value, first → last (USDC)".to_string(),
            format!("{:.2} → {:.2}", first.pool_value, last.pool_value),
        ),
        (
            "LP share price, first → last".into(),
            format!("{:.6} → {:.6}", first.share_price, last.share_price),
        ),
        ("LP return".into(), format!("{:+.4} %", o.lp_return * 100.0)),
        (
            "max share-price drawdown (from running peak)".into(),
            format!("{:.4} %", o.max_share_price_drawdown * 100.0),
        ),
        ("bad debt (USDC)".into(), format!("{:.2}", o.bad_debt)),
        (
            "positions opened / closed by traders".into(),
            format!("{} / {}", o.positions_opened, o.positions_closed),
        ),
        (
            "average leverage at open".into(),
            format!("{:.2}x", o.average_leverage),
        ),
        ("opens refused".into(), counts(&o.opens_refused)),
        (
            "liquidations (full)".into(),
            format!("{} ({})", o.liquidations, o.full_liquidations),
        ),
        (
            "trigger orders executed".into(),
            o.trigger_orders.to_string(),
        ),
        (
            "auto-deleveraged (reserve or pool PnL cap)".into(),
            o.deleveraged.to_string(),
        ),
        (
            "payouts capped at the reserve (count / profit cut, USDC)".into(),
            format!("{} / {:.2}", o.payouts_capped, o.payouts_capped_amount),
        ),
        (
            "keeper transactions sent / refused".into(),
            format!(
                "{} / {}",
                o.keeper_actions_sent,
                o.keeper_actions_refused.values().sum::<u64>()
            ),
        ),
        ("keeper refusals".into(), counts(&o.keeper_actions_refused)),
        (
            "LP deposits / withdrawals".into(),
            format!("{} / {}", o.lp_deposits, o.lp_withdrawals),
        ),
        ("oracle updates".into(), o.oracle_updates.to_string()),
        (
            "transactions ok / failed".into(),
            format!("{} / {}", o.transactions_ok, o.transactions_failed),
        ),
        (
            "transactions per second".into(),
            format!("{:.0}", o.transactions_per_second),
        ),
    ]);
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
    for (i, m) in o.markets.iter().enumerate() {
        let _ = writeln!(md, "\n## Daily: {}\n\n| day (UTC) | price | volatility | initial margin | utilization | OI long / short | liquidations | pool value | share price |\n|---|---|---|---|---|---|---|---|---|", m.symbol);
        for x in o.samples.iter().filter(|x| x.time % 86_400 == 0) {
            let y = &x.markets[i];
            let _ = writeln!(
                md,
                "| {} | {:.2} | {:.2} % | {:.2} % | {:.1} % | {:.0} / {:.0} | {} | {:.0} | {:.6} |",
                &format_time(x.time)[..10],
                y.price,
                y.volatility * 100.0,
                y.initial_margin * 100.0,
                x.utilization * 100.0,
                y.long_open_interest,
                y.short_open_interest,
                x.liquidations,
                x.pool_value,
                x.share_price
            );
        }
    }
    md
}
