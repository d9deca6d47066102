//! Trader commands: open, decrease, collateral and trigger orders on a position.

use anchor_spl::associated_token::get_associated_token_address;
use clap::Subcommand;
use serde_json::json;
use solana_sdk::signature::Signer;
use tidepool::state::Side;
use tidepool_client::ix;

use super::{price, usd, PositionTarget};
use crate::config::Config;
use crate::units::parse_decimal;

#[derive(Subcommand, Debug)]
pub enum TradeCommand {
    /// Trader: open or increase a position.
    Open {
        #[command(flatten)]
        target: PositionTarget,
        #[arg(long)]
        size_usd: String,
        #[arg(long)]
        collateral: String,
        /// Worst acceptable fill, USD; default: none.
        #[arg(long)]
        acceptable_price: Option<String>,
    },
    /// Trader: decrease a position (`--size-usd all` closes it).
    Decrease {
        #[command(flatten)]
        target: PositionTarget,
        #[arg(long)]
        size_usd: String,
        #[arg(long)]
        acceptable_price: Option<String>,
        #[arg(long, default_value = "0")]
        min_amount: String,
    },
    /// Trader: add collateral.
    AddCollateral {
        #[command(flatten)]
        target: PositionTarget,
        #[arg(long)]
        amount: String,
    },
    /// Trader: remove collateral (down to the initial margin).
    RemoveCollateral {
        #[command(flatten)]
        target: PositionTarget,
        #[arg(long)]
        amount: String,
    },
    /// Trader: set take-profit and stop-loss prices (USD; omit to clear).
    SetTriggers {
        #[command(flatten)]
        target: PositionTarget,
        #[arg(long)]
        take_profit: Option<String>,
        #[arg(long)]
        stop_loss: Option<String>,
    },
}

pub async fn process(config: &Config, command: TradeCommand) -> Result<(), String> {
    let me = config.signer.pubkey();
    match command {
        TradeCommand::Open {
            target,
            size_usd,
            collateral,
            acceptable_price,
        } => {
            let (pool, _, m) = config.market_keys(target.pool_id, target.market).await?;
            let side: Side = target.side.into();
            let acceptable = match acceptable_price {
                Some(p) => price(&p)?,
                None if side.is_long() => u64::MAX,
                None => 0,
            };
            let from = get_associated_token_address(&me, &pool.settlement_mint);
            let collateral = parse_decimal(&collateral, pool.settlement_decimals as u32)?;
            let sig = config
                .send(vec![ix::open_position(
                    &me,
                    &m,
                    &from,
                    side,
                    usd(&size_usd)?,
                    collateral,
                    acceptable,
                )])
                .await?;
            config.done(
                "open_position",
                &sig,
                json!({ "position": m.position(&me, side).to_string() }),
            );
        }
        TradeCommand::Decrease {
            target,
            size_usd,
            acceptable_price,
            min_amount,
        } => {
            let (pool, _, m) = config.market_keys(target.pool_id, target.market).await?;
            let side: Side = target.side.into();
            let size = if size_usd == "all" {
                u64::MAX
            } else {
                usd(&size_usd)?
            };
            let acceptable = match acceptable_price {
                Some(p) => price(&p)?,
                None if side.is_long() => 0,
                None => u64::MAX,
            };
            let to = get_associated_token_address(&me, &pool.settlement_mint);
            let min = parse_decimal(&min_amount, pool.settlement_decimals as u32)?;
            let sig = config
                .send(vec![ix::decrease_position(
                    &me, &m, side, &to, size, acceptable, min,
                )])
                .await?;
            config.done("decrease_position", &sig, json!({ "size_usd": size_usd }));
        }
        TradeCommand::AddCollateral { target, amount } => {
            let (pool, _, m) = config.market_keys(target.pool_id, target.market).await?;
            let from = get_associated_token_address(&me, &pool.settlement_mint);
            let amount_units = parse_decimal(&amount, pool.settlement_decimals as u32)?;
            let sig = config
                .send(vec![ix::add_collateral(
                    &me,
                    &m,
                    target.side.into(),
                    &from,
                    amount_units,
                )])
                .await?;
            config.done("add_collateral", &sig, json!({ "amount": amount }));
        }
        TradeCommand::RemoveCollateral { target, amount } => {
            let (pool, _, m) = config.market_keys(target.pool_id, target.market).await?;
            let to = get_associated_token_address(&me, &pool.settlement_mint);
            let amount_units = parse_decimal(&amount, pool.settlement_decimals as u32)?;
            let sig = config
                .send(vec![ix::remove_collateral(
                    &me,
                    &m,
                    target.side.into(),
                    &to,
                    amount_units,
                )])
                .await?;
            config.done("remove_collateral", &sig, json!({ "amount": amount }));
        }
        TradeCommand::SetTriggers {
            target,
            take_profit,
            stop_loss,
        } => {
            let (_, _, m) = config.market_keys(target.pool_id, target.market).await?;
            let tp = take_profit.as_deref().map(price).transpose()?.unwrap_or(0);
            let sl = stop_loss.as_deref().map(price).transpose()?.unwrap_or(0);
            let sig = config
                .send(vec![ix::set_trigger_orders(
                    &me,
                    &m.market,
                    target.side.into(),
                    tp,
                    sl,
                )])
                .await?;
            config.done(
                "set_trigger_orders",
                &sig,
                json!({ "take_profit": tp, "stop_loss": sl }),
            );
        }
    }
    Ok(())
}
