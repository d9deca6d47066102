//! Read-only commands: a pool's books and value, an owner's positions with their health
//! (the program's own view instructions, simulated).

use anchor_lang::prelude::Pubkey;
use clap::Subcommand;
use solana_sdk::signature::Signer;
use tidepool::engine::pool_value::PoolValueView;
use tidepool::math::USD_DECIMALS;
use tidepool::state::{Position, PositionHealth, Side};
use tidepool_client::ix::{self, MarketKeys};
use tidepool_client::pda;

use crate::config::Config;
use crate::output::{CliHealth, CliHealthOrError, CliPool, CliPosition, CliPositions};
use crate::units::format_decimal;

#[derive(Subcommand, Debug)]
pub enum ViewCommand {
    /// A pool's books and value.
    Pool {
        #[arg(long)]
        pool_id: u16,
    },
    /// An owner's positions with their health (default owner: the signer).
    Positions {
        #[arg(long)]
        pool_id: u16,
        #[arg(long)]
        owner: Option<Pubkey>,
    },
}

pub async fn process(config: &Config, command: ViewCommand) -> Result<(), String> {
    let me = config.signer.pubkey();
    match command {
        ViewCommand::Pool { pool_id } => {
            let (key, pool, keys) = config.pool(pool_id).await?;
            let v: PoolValueView = config.view(ix::get_pool_value(&keys)).await?;
            let d = pool.settlement_decimals as u32;
            let out = CliPool {
                pool: key.to_string(),
                settlement_mint: pool.settlement_mint.to_string(),
                markets: pool.markets().iter().map(|m| m.to_string()).collect(),
                lp_balance: format_decimal(v.lp_balance as i128, d),
                pool_value_min: format_decimal(v.pool_value_min as i128, d),
                pool_value_max: format_decimal(v.pool_value_max as i128, d),
                share_price: format_decimal(v.share_price_min as i128, 9),
                total_reserved: format_decimal(v.total_reserved as i128, d),
                withdrawable: format_decimal(v.withdrawable as i128, d),
                utilization_bps: v.utilization_bps,
                bad_debt: format_decimal(pool.bad_debt as i128, d),
                pause_flags: pool.pause_flags,
            };
            println!("{}", config.output.formatted(&out));
        }
        ViewCommand::Positions { pool_id, owner } => {
            let owner = owner.unwrap_or(me);
            let (pool_key, pool, keys) = config.pool(pool_id).await?;
            let d = pool.settlement_decimals as u32;
            let mut positions = Vec::new();
            for (i, mo) in keys.markets.iter().enumerate() {
                for side in [Side::Long, Side::Short] {
                    let key = pda::position(&mo.market, &owner, side).0;
                    let Ok(p) = config.account::<Position>(&key, "position").await else {
                        continue;
                    };
                    let m = MarketKeys {
                        pool: pool_key,
                        market: mo.market,
                        price_update: mo.price_update,
                        settlement_price_update: keys.settlement_price_update,
                    };
                    let health = match config
                        .view::<PositionHealth>(ix::get_position_health(&m, &key))
                        .await
                    {
                        Ok(h) => CliHealthOrError::Health(CliHealth::new(&h, d)),
                        Err(error) => CliHealthOrError::Error { error },
                    };
                    positions.push(CliPosition {
                        position: key.to_string(),
                        market_index: i,
                        side: format!("{:?}", p.side),
                        size: format_decimal(p.size_base as i128, 9),
                        entry_notional_usd: format_decimal(
                            p.entry_notional_usd as i128,
                            USD_DECIMALS,
                        ),
                        collateral: format_decimal(p.collateral as i128, d),
                        health,
                    });
                }
            }
            let out = CliPositions {
                owner: owner.to_string(),
                positions,
            };
            println!("{}", config.output.formatted(&out));
        }
    }
    Ok(())
}
