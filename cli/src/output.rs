//! What commands print: one type per kind of result, `Display` for `--output human` and
//! `Serialize` for `--output json` (one line of JSON, so scripts can read the last line).

use std::fmt;

use clap::ValueEnum;
use serde::Serialize;
use tidepool::math::{PRICE_DECIMALS, USD_DECIMALS};
use tidepool::state::PositionHealth;

use crate::units::format_decimal;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
}

impl OutputFormat {
    pub fn formatted<T: fmt::Display + Serialize>(self, item: &T) -> String {
        match self {
            OutputFormat::Human => item.to_string(),
            OutputFormat::Json => serde_json::to_string(item).expect("outputs serialize"),
        }
    }
}

/// A sent transaction: which instruction, its signature and what it did.
#[derive(Debug, Serialize)]
pub struct CliTransaction {
    pub action: &'static str,
    pub signature: String,
    pub details: serde_json::Value,
}

impl fmt::Display for CliTransaction {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {}", self.action, self.signature)
    }
}

/// A pool's books and value (`tidepool pool`).
#[derive(Debug, Serialize)]
pub struct CliPool {
    pub pool: String,
    pub settlement_mint: String,
    pub markets: Vec<String>,
    pub lp_balance: String,
    pub pool_value_min: String,
    pub pool_value_max: String,
    pub share_price: String,
    pub total_reserved: String,
    pub withdrawable: String,
    pub utilization_bps: u64,
    pub bad_debt: String,
    pub pause_flags: u16,
}

impl fmt::Display for CliPool {
    /// One `name: value` line per field, names right-aligned.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let value = serde_json::to_value(self).map_err(|_| fmt::Error)?;
        let mut first = true;
        for (k, v) in value.as_object().ok_or(fmt::Error)? {
            if !first {
                writeln!(f)?;
            }
            first = false;
            write!(f, "{k:>16}: {}", v.to_string().trim_matches('"'))?;
        }
        Ok(())
    }
}

/// An owner's positions (`tidepool positions`): a JSON array.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct CliPositions {
    #[serde(skip)]
    pub owner: String,
    pub positions: Vec<CliPosition>,
}

impl fmt::Display for CliPositions {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.positions.is_empty() {
            return write!(f, "no positions for {}", self.owner);
        }
        for (i, p) in self.positions.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let pretty = serde_json::to_string_pretty(p).map_err(|_| fmt::Error)?;
            write!(f, "{pretty}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Serialize)]
pub struct CliPosition {
    pub position: String,
    pub market_index: usize,
    pub side: String,
    pub size: String,
    pub entry_notional_usd: String,
    pub collateral: String,
    pub health: CliHealthOrError,
}

/// The program's health view of a position, or why it could not be read.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum CliHealthOrError {
    Health(CliHealth),
    Error { error: String },
}

#[derive(Debug, Serialize)]
pub struct CliHealth {
    pub mark_price: String,
    pub notional_usd: String,
    pub equity: String,
    pub pnl: String,
    pub borrow_owed: String,
    pub funding_owed: String,
    pub initial_margin_bps: u64,
    pub maintenance_margin_bps: u64,
    pub maintenance_margin_required: String,
    pub liquidation_price: String,
    pub liquidatable: bool,
}

impl CliHealth {
    /// Amounts in the settlement token's `decimals`, prices and notionals in theirs.
    pub fn new(h: &PositionHealth, decimals: u32) -> CliHealth {
        CliHealth {
            mark_price: format_decimal(h.mark_price as i128, PRICE_DECIMALS),
            notional_usd: format_decimal(h.notional_usd as i128, USD_DECIMALS),
            equity: format_decimal(h.equity as i128, decimals),
            pnl: format_decimal(h.pnl as i128, decimals),
            borrow_owed: format_decimal(h.borrow_owed as i128, decimals),
            funding_owed: format_decimal(h.funding_owed as i128, decimals),
            initial_margin_bps: h.initial_margin_bps,
            maintenance_margin_bps: h.maintenance_margin_bps,
            maintenance_margin_required: format_decimal(
                h.maintenance_margin_required as i128,
                decimals,
            ),
            liquidation_price: format_decimal(h.liquidation_price as i128, PRICE_DECIMALS),
            liquidatable: h.is_liquidatable(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_output_is_one_parseable_line_and_text_reads_as_before() {
        let sent = CliTransaction {
            action: "open_position",
            signature: "5sig".into(),
            details: serde_json::json!({ "position": "Pos1" }),
        };
        let line = OutputFormat::Json.formatted(&sent);
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            (&v["action"], &v["signature"], &v["details"]["position"]),
            (
                &serde_json::json!("open_position"),
                &serde_json::json!("5sig"),
                &serde_json::json!("Pos1")
            )
        );
        assert_eq!(OutputFormat::Human.formatted(&sent), "open_position: 5sig");

        let health = CliHealth::new(
            &PositionHealth {
                mark_price: 150 * 10u64.pow(PRICE_DECIMALS),
                notional_usd: 150 * 10u64.pow(USD_DECIMALS),
                pnl: 0,
                borrow_owed: 0,
                funding_owed: 0,
                close_fee: 0,
                equity: 15_000_000,
                initial_margin_bps: 1000,
                maintenance_margin_bps: 500,
                initial_margin_required: 15_000_000,
                maintenance_margin_required: 7_500_000,
                liquidation_price: 0,
            },
            6,
        );
        let positions = CliPositions {
            owner: "Owner1".into(),
            positions: vec![
                CliPosition {
                    position: "Pos1".into(),
                    market_index: 0,
                    side: "Long".into(),
                    size: "1".into(),
                    entry_notional_usd: "150".into(),
                    collateral: "15".into(),
                    health: CliHealthOrError::Health(health),
                },
                CliPosition {
                    position: "Pos2".into(),
                    market_index: 1,
                    side: "Short".into(),
                    size: "2".into(),
                    entry_notional_usd: "300".into(),
                    collateral: "30".into(),
                    health: CliHealthOrError::Error {
                        error: "stale price".into(),
                    },
                },
            ],
        };
        let v: serde_json::Value =
            serde_json::from_str(&OutputFormat::Json.formatted(&positions)).unwrap();
        assert_eq!(v[0]["health"]["mark_price"], "150");
        assert_eq!(v[0]["health"]["liquidatable"], false);
        assert_eq!(v[1]["health"]["error"], "stale price");
        assert_eq!(
            v.as_array().unwrap().len(),
            2,
            "an array, the owner left out"
        );
        let empty = CliPositions {
            owner: "Owner1".into(),
            positions: vec![],
        };
        assert_eq!(OutputFormat::Json.formatted(&empty), "[]");
        assert_eq!(
            OutputFormat::Human.formatted(&empty),
            "no positions for Owner1"
        );

        let pool = CliPool {
            pool: "P".into(),
            settlement_mint: "M".into(),
            markets: vec!["A".into()],
            lp_balance: "1".into(),
            pool_value_min: "1".into(),
            pool_value_max: "1".into(),
            share_price: "1".into(),
            total_reserved: "0".into(),
            withdrawable: "1".into(),
            utilization_bps: 0,
            bad_debt: "0".into(),
            pause_flags: 0,
        };
        let v: serde_json::Value =
            serde_json::from_str(&OutputFormat::Json.formatted(&pool)).unwrap();
        assert_eq!(v["lp_balance"], "1");
        let text = OutputFormat::Human.formatted(&pool);
        assert!(text.contains("      lp_balance: 1\n"), "{text}");
        assert_eq!(text.lines().count(), 12);
    }
}
