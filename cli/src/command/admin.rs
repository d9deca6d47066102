//! Admin commands: the protocol config, pools, markets, their parameters, pause flags and
//! the admin handover. Pools and markets start from `tidepool_client::defaults`.

use anchor_lang::prelude::Pubkey;
use clap::Subcommand;
use serde_json::json;
use solana_sdk::signature::Signer;
use tidepool::state::{MarketParams, OracleGuards, PoolParams};
use tidepool_client::feeds::parse_feed_id;
use tidepool_client::ix;
use tidepool_client::pda;

use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Admin: create the protocol config (the signer becomes admin).
    Init {
        #[arg(long)]
        fee_recipient: Pubkey,
    },
    /// Admin: create a pool over a settlement mint, with default parameters.
    CreatePool {
        #[arg(long)]
        pool_id: u16,
        #[arg(long)]
        mint: Pubkey,
        /// Pyth feed id of the settlement token (hex).
        #[arg(long, value_parser = parse_feed_id)]
        feed_id: [u8; 32],
    },
    /// Admin: add a market to a pool, with default parameters.
    CreateMarket {
        #[arg(long)]
        pool_id: u16,
        #[arg(long)]
        symbol: String,
        #[arg(long, value_parser = parse_feed_id)]
        feed_id: [u8; 32],
    },
    /// Admin: change pool parameters: `--set name=value` (repeatable), e.g.
    /// `--set max_utilization_bps=7000 --set settlement_oracle.max_age_seconds=30`.
    UpdatePoolParams {
        #[arg(long)]
        pool_id: u16,
        #[arg(long = "set", value_parser = parse_assignment, required = true)]
        set: Vec<(String, String)>,
    },
    /// Admin: change market parameters: `--set name=value` (repeatable), e.g.
    /// `--set base_initial_margin_bps=600 --set oracle.max_age_seconds=30`.
    UpdateMarketParams {
        #[arg(long)]
        pool_id: u16,
        #[arg(long, default_value_t = 0)]
        market: u8,
        #[arg(long = "set", value_parser = parse_assignment, required = true)]
        set: Vec<(String, String)>,
    },
    /// Admin: set pause flags on the protocol, a pool (--pool-id) or a market (and --market).
    Pause {
        #[arg(long)]
        flags: u16,
        #[arg(long)]
        pool_id: Option<u16>,
        #[arg(long, requires = "pool_id")]
        market: Option<u8>,
    },
    /// Admin: propose a new admin.
    TransferAdmin {
        #[arg(long)]
        new_admin: Pubkey,
    },
    /// Become admin (the proposed admin signs).
    AcceptAdmin,
}

pub async fn process(config: &Config, command: AdminCommand) -> Result<(), String> {
    let me = config.signer.pubkey();
    match command {
        AdminCommand::Init { fee_recipient } => {
            let sig = config
                .send(vec![ix::initialize(&me, &fee_recipient)])
                .await?;
            config.done("initialize", &sig, json!({ "admin": me.to_string() }));
        }
        AdminCommand::CreatePool {
            pool_id,
            mint,
            feed_id,
        } => {
            let params = tidepool_client::defaults::pool_params();
            let sig = config
                .send(vec![ix::create_pool(&me, pool_id, &mint, feed_id, params)])
                .await?;
            config.done(
                "create_pool",
                &sig,
                json!({ "pool": pda::pool(pool_id).0.to_string() }),
            );
        }
        AdminCommand::CreateMarket {
            pool_id,
            symbol,
            feed_id,
        } => {
            let (pool_key, pool, _) = config.pool(pool_id).await?;
            let mut sym = [0u8; 16];
            if symbol.is_empty() || symbol.len() > 16 {
                return Err("a symbol is 1 to 16 bytes".into());
            }
            sym[..symbol.len()].copy_from_slice(symbol.as_bytes());
            let params = tidepool_client::defaults::market_params();
            let index = pool.market_count;
            let sig = config
                .send(vec![ix::create_market(
                    &me, &pool_key, index, sym, feed_id, params,
                )])
                .await?;
            config.done(
                "create_market",
                &sig,
                json!({ "market": pda::market(&pool_key, index).0.to_string(), "index": index }),
            );
        }
        AdminCommand::UpdatePoolParams { pool_id, set } => {
            let (pool_key, pool, _) = config.pool(pool_id).await?;
            let mut params = pool.params;
            set_pool_params(&mut params, &set)?;
            let sig = config
                .send(vec![ix::update_pool_params(&me, &pool_key, params)])
                .await?;
            config.done("update_pool_params", &sig, json!({ "changes": set.len() }));
        }
        AdminCommand::UpdateMarketParams {
            pool_id,
            market,
            set,
        } => {
            let (_, current, m) = config.market_keys(pool_id, market).await?;
            let mut params = current.params;
            set_market_params(&mut params, &set)?;
            let sig = config
                .send(vec![ix::update_market_params(
                    &me, &m.pool, &m.market, params,
                )])
                .await?;
            config.done(
                "update_market_params",
                &sig,
                json!({ "changes": set.len() }),
            );
        }
        AdminCommand::Pause {
            flags,
            pool_id,
            market,
        } => {
            let pool = pool_id.map(|id| pda::pool(id).0);
            let market = match (pool, market) {
                (Some(p), Some(i)) => Some(pda::market(&p, i).0),
                _ => None,
            };
            let sig = config
                .send(vec![ix::set_pause_flags(
                    &me,
                    pool.as_ref(),
                    market.as_ref(),
                    flags,
                )])
                .await?;
            config.done("set_pause_flags", &sig, json!({ "flags": flags }));
        }
        AdminCommand::TransferAdmin { new_admin } => {
            let sig = config
                .send(vec![ix::transfer_admin(&me, &new_admin)])
                .await?;
            config.done(
                "transfer_admin",
                &sig,
                json!({ "pending_admin": new_admin.to_string() }),
            );
        }
        AdminCommand::AcceptAdmin => {
            let sig = config.send(vec![ix::accept_admin(&me)]).await?;
            config.done("accept_admin", &sig, json!({ "admin": me.to_string() }));
        }
    }
    Ok(())
}

pub(crate) fn parse_assignment(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or("expected name=value")?;
    Ok((k.trim().to_string(), v.trim().to_string()))
}

/// Assign `value` to the field named `key` among `fields` of `target`, parsing it as that
/// field's type; an unknown name is an error that lists the known ones.
macro_rules! assign {
    ($target:expr, $key:expr, $value:expr, [$($field:ident),* $(,)?]) => {
        match $key {
            $(stringify!($field) => {
                $target.$field = $value
                    .parse()
                    .map_err(|e| format!("{}: `{}` {e}", $key, $value))?;
            })*
            other => {
                return Err(format!(
                    "unknown parameter `{other}`; known: {}",
                    [$(stringify!($field)),*].join(", ")
                ))
            }
        }
    };
}

fn set_oracle(o: &mut OracleGuards, key: &str, value: &str) -> Result<(), String> {
    assign!(
        o,
        key,
        value,
        [max_age_seconds, max_confidence_bps, max_ema_deviation_bps]
    );
    Ok(())
}

/// Apply `name=value` changes to pool parameters (`settlement_oracle.*` for its guards).
pub(crate) fn set_pool_params(
    p: &mut PoolParams,
    changes: &[(String, String)],
) -> Result<(), String> {
    for (key, value) in changes {
        if let Some(k) = key.strip_prefix("settlement_oracle.") {
            set_oracle(&mut p.settlement_oracle, k, value)?;
            continue;
        }
        assign!(
            p,
            key.as_str(),
            value,
            [
                max_depeg_bps,
                deposit_fee_bps,
                withdraw_fee_bps,
                max_utilization_bps,
                max_pnl_factor_bps,
                max_net_exposure_bps,
                protocol_fee_share_bps,
                lp_request_delay_seconds,
                lp_request_keeper_fee_lamports,
            ]
        );
    }
    Ok(())
}

/// Apply `name=value` changes to market parameters (`oracle.*` for its guards).
pub(crate) fn set_market_params(
    p: &mut MarketParams,
    changes: &[(String, String)],
) -> Result<(), String> {
    for (key, value) in changes {
        if let Some(k) = key.strip_prefix("oracle.") {
            set_oracle(&mut p.oracle, k, value)?;
            continue;
        }
        assign!(
            p,
            key.as_str(),
            value,
            [
                base_initial_margin_bps,
                base_maintenance_margin_bps,
                volatility_multiplier_bps,
                pool_stress_margin_bps,
                size_margin_bps,
                size_margin_scale_usd,
                liquidation_horizon_seconds,
                volatility_ewma_seconds,
                fast_volatility_ewma_seconds,
                max_long_open_interest_usd,
                max_short_open_interest_usd,
                max_skew_usd,
                max_profit_factor_bps,
                min_hold_seconds,
                min_position_usd,
                open_fee_bps,
                close_fee_bps,
                base_spread_bps,
                confidence_spread_bps,
                borrow_base_rate_bps,
                borrow_optimal_utilization_bps,
                borrow_slope1_bps,
                borrow_slope2_bps,
                funding_rate_bps,
                liquidation_fee_bps,
                keeper_fee_usd,
            ]
        );
    }
    Ok(())
}
