//! `tidepool`: the command line for Tidepool's admin, LPs and traders, in Solana CLI
//! conventions (`--url` with monikers, `--keypair` defaulting to the Solana CLI config).
//! Amounts are decimal (`--amount 250.5` settlement tokens, `--size-usd 1500`, prices in
//! USD); `--output json` prints machine-readable results; program errors are shown by name
//! and message.

mod units;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AccountDeserialize, AnchorDeserialize};
use anchor_spl::associated_token::get_associated_token_address;
use anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent;
use anchor_spl::token::ID as TOKEN_PROGRAM_ID;
use base64::Engine;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;
use solana_commitment_config::CommitmentConfig;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_sdk::instruction::{Instruction, InstructionError};
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::signer::keypair::read_keypair_file;
use solana_sdk::transaction::{Transaction, TransactionError};
use tidepool::engine::pool_value::PoolValueView;
use tidepool::math::{PRICE_DECIMALS, USD_DECIMALS};
use tidepool::state::{
    LiquidityRequest, LiquidityRequestKind, Market, MarketParams, OracleGuards, Pool, PoolParams,
    Position, PositionHealth, Side,
};
use tidepool_client::cli_config::{
    default_config_path, keypair_or_default, parse_feed_id, parse_price_account, read_config,
    url_or_default,
};
use tidepool_client::errors::describe;
use tidepool_client::ix::{self, MarketKeys, MarketOracle, PoolKeys};
use tidepool_client::pda;

use units::{format_decimal, parse_decimal};

#[derive(Parser, Debug)]
#[command(
    name = "tidepool",
    version,
    about = "Tidepool perpetuals: admin, liquidity, trading"
)]
struct Cli {
    /// RPC URL or moniker (mainnet-beta, devnet, testnet, localhost); default: Solana CLI config.
    #[arg(long, short = 'u', global = true)]
    url: Option<String>,
    /// Signer keypair file; default: Solana CLI config, then ~/.config/solana/id.json.
    #[arg(long, short = 'k', global = true)]
    keypair: Option<PathBuf>,
    /// Solana CLI config file.
    #[arg(long, short = 'C', global = true)]
    config: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Output::Human, global = true)]
    output: Output,
    /// Price account for a feed: FEED_ID_HEX=ACCOUNT (repeatable). Default: Pyth's shard-0
    /// sponsored feed account.
    #[arg(long = "price-account", value_parser = parse_price_account, global = true)]
    price_accounts: Vec<([u8; 32], Pubkey)>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Output {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SideArg {
    Long,
    Short,
}

impl From<SideArg> for Side {
    fn from(s: SideArg) -> Side {
        match s {
            SideArg::Long => Side::Long,
            SideArg::Short => Side::Short,
        }
    }
}

/// Which position: pool, market index and side.
#[derive(Args, Debug)]
struct PositionTarget {
    #[arg(long)]
    pool_id: u16,
    #[arg(long, default_value_t = 0)]
    market: u8,
    #[arg(long, value_enum)]
    side: SideArg,
}

#[derive(Subcommand, Debug)]
enum Command {
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
    /// A pool's books and value.
    Pool {
        #[arg(long)]
        pool_id: u16,
    },
    /// LP: request a deposit of settlement tokens for LP shares (a keeper executes it with
    /// prices published after the pool's request delay; `cancel-request` takes it back).
    Deposit {
        #[arg(long)]
        pool_id: u16,
        #[arg(long)]
        amount: String,
        #[arg(long, default_value = "0")]
        min_shares: String,
    },
    /// LP: request a withdrawal: the shares are burnt now, the tokens paid when a keeper
    /// executes it (`cancel-request` mints the shares back).
    Withdraw {
        #[arg(long)]
        pool_id: u16,
        #[arg(long)]
        shares: String,
        #[arg(long, default_value = "0")]
        min_amount: String,
    },
    /// LP: cancel your pending deposit or withdrawal request (tokens or shares, rent and
    /// keeper fee come back).
    CancelRequest {
        #[arg(long)]
        pool_id: u16,
    },
    /// Anyone: execute an LP's pending request once its delay has passed (earns its
    /// keeper fee).
    ExecuteRequest {
        #[arg(long)]
        pool_id: u16,
        /// The request's owner; default: you.
        #[arg(long)]
        owner: Option<Pubkey>,
    },
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
    /// An owner's positions with their health (default owner: the signer).
    Positions {
        #[arg(long)]
        pool_id: u16,
        #[arg(long)]
        owner: Option<Pubkey>,
    },
}

fn parse_assignment(s: &str) -> Result<(String, String), String> {
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
fn set_pool_params(p: &mut PoolParams, changes: &[(String, String)]) -> Result<(), String> {
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
fn set_market_params(p: &mut MarketParams, changes: &[(String, String)]) -> Result<(), String> {
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

struct Ctx {
    rpc: RpcClient,
    signer: Keypair,
    output: Output,
    price_accounts: HashMap<[u8; 32], Pubkey>,
}

impl Ctx {
    fn price_account(&self, feed: &[u8; 32]) -> Pubkey {
        self.price_accounts
            .get(feed)
            .copied()
            .unwrap_or_else(|| pda::pyth_feed_account(0, feed))
    }

    async fn account<T: AccountDeserialize>(&self, key: &Pubkey, what: &str) -> Result<T, String> {
        let acc = self
            .rpc
            .get_account(key)
            .await
            .map_err(|e| format!("cannot fetch {what} {key}: {e}"))?;
        T::try_deserialize(&mut &acc.data[..]).map_err(|e| format!("{what} {key}: {e}"))
    }

    async fn pool(&self, pool_id: u16) -> Result<(Pubkey, Pool, PoolKeys), String> {
        let key = pda::pool(pool_id).0;
        let pool: Pool = self.account(&key, "pool").await?;
        let mut markets = Vec::new();
        for m in pool.markets() {
            let market: Market = self.account(m, "market").await?;
            markets.push(MarketOracle {
                market: *m,
                price_update: self.price_account(&market.feed_id),
            });
        }
        let keys = PoolKeys {
            pool: key,
            settlement_mint: pool.settlement_mint,
            settlement_price_update: self.price_account(&pool.settlement_feed_id),
            markets,
        };
        Ok((key, pool, keys))
    }

    async fn market_keys(
        &self,
        pool_id: u16,
        index: u8,
    ) -> Result<(Pool, Market, MarketKeys), String> {
        let (pool_key, pool, keys) = self.pool(pool_id).await?;
        let market_key = pda::market(&pool_key, index).0;
        let market: Market = self.account(&market_key, "market").await?;
        let m = MarketKeys {
            pool: pool_key,
            market: market_key,
            price_update: self.price_account(&market.feed_id),
            settlement_price_update: keys.settlement_price_update,
        };
        Ok((pool, market, m))
    }

    async fn send(&self, instructions: Vec<Instruction>) -> Result<String, String> {
        let mut all = vec![ComputeBudgetInstruction::set_compute_unit_limit(400_000)];
        all.extend(instructions);
        let blockhash = self
            .rpc
            .get_latest_blockhash()
            .await
            .map_err(|e| e.to_string())?;
        let tx = Transaction::new_signed_with_payer(
            &all,
            Some(&self.signer.pubkey()),
            &[&self.signer],
            blockhash,
        );
        match self.rpc.send_and_confirm_transaction(&tx).await {
            Ok(sig) => Ok(sig.to_string()),
            Err(e) => Err(match e.get_transaction_error() {
                Some(TransactionError::InstructionError(_, InstructionError::Custom(code))) => {
                    describe(code)
                }
                _ => e.to_string(),
            }),
        }
    }

    async fn view<T: AnchorDeserialize>(&self, instruction: Instruction) -> Result<T, String> {
        let blockhash = self
            .rpc
            .get_latest_blockhash()
            .await
            .map_err(|e| e.to_string())?;
        let tx = Transaction::new_signed_with_payer(
            &[instruction],
            Some(&self.signer.pubkey()),
            &[&self.signer],
            blockhash,
        );
        let sim = self
            .rpc
            .simulate_transaction(&tx)
            .await
            .map_err(|e| e.to_string())?
            .value;
        if let Some(e) = sim.err {
            return Err(match TransactionError::from(e) {
                TransactionError::InstructionError(_, InstructionError::Custom(code)) => {
                    describe(code)
                }
                other => other.to_string(),
            });
        }
        let data = sim.return_data.ok_or("the view returned nothing")?.data.0;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| e.to_string())?;
        T::try_from_slice(&bytes).map_err(|e| e.to_string())
    }

    fn done(&self, what: &str, signature: &str, extra: serde_json::Value) {
        match self.output {
            Output::Json => println!(
                "{}",
                json!({ "action": what, "signature": signature, "details": extra })
            ),
            Output::Human => println!("{what}: {signature}"),
        }
    }
}

fn usd(s: &str) -> Result<u64, String> {
    parse_decimal(s, USD_DECIMALS)
}
fn price(s: &str) -> Result<u64, String> {
    parse_decimal(s, PRICE_DECIMALS)
}

fn health_json(h: &PositionHealth, decimals: u32) -> serde_json::Value {
    json!({
        "mark_price": format_decimal(h.mark_price as i128, PRICE_DECIMALS),
        "notional_usd": format_decimal(h.notional_usd as i128, USD_DECIMALS),
        "equity": format_decimal(h.equity as i128, decimals),
        "pnl": format_decimal(h.pnl as i128, decimals),
        "borrow_owed": format_decimal(h.borrow_owed as i128, decimals),
        "funding_owed": format_decimal(h.funding_owed as i128, decimals),
        "initial_margin_bps": h.initial_margin_bps,
        "maintenance_margin_bps": h.maintenance_margin_bps,
        "maintenance_margin_required": format_decimal(h.maintenance_margin_required as i128, decimals),
        "liquidation_price": format_decimal(h.liquidation_price as i128, PRICE_DECIMALS),
        "liquidatable": h.is_liquidatable(),
    })
}

async fn run(cli: Cli) -> Result<(), String> {
    let config = read_config(&cli.config.clone().unwrap_or_else(default_config_path));
    let url = url_or_default(cli.url.as_deref(), &config);
    let keypair_path = keypair_or_default(cli.keypair.as_deref(), &config);
    let signer = read_keypair_file(&keypair_path)
        .map_err(|e| format!("cannot read keypair {}: {e}", keypair_path.display()))?;
    let ctx = Ctx {
        rpc: RpcClient::new_with_commitment(url, CommitmentConfig::confirmed()),
        signer,
        output: cli.output,
        price_accounts: cli.price_accounts.into_iter().collect(),
    };
    let me = ctx.signer.pubkey();
    match cli.command {
        Command::Init { fee_recipient } => {
            let sig = ctx.send(vec![ix::initialize(&me, &fee_recipient)]).await?;
            ctx.done("initialize", &sig, json!({ "admin": me.to_string() }));
        }
        Command::CreatePool {
            pool_id,
            mint,
            feed_id,
        } => {
            let params = tidepool_client::defaults::pool_params();
            let sig = ctx
                .send(vec![ix::create_pool(&me, pool_id, &mint, feed_id, params)])
                .await?;
            ctx.done(
                "create_pool",
                &sig,
                json!({ "pool": pda::pool(pool_id).0.to_string() }),
            );
        }
        Command::CreateMarket {
            pool_id,
            symbol,
            feed_id,
        } => {
            let (pool_key, pool, _) = ctx.pool(pool_id).await?;
            let mut sym = [0u8; 16];
            if symbol.is_empty() || symbol.len() > 16 {
                return Err("a symbol is 1 to 16 bytes".into());
            }
            sym[..symbol.len()].copy_from_slice(symbol.as_bytes());
            let params = tidepool_client::defaults::market_params();
            let index = pool.market_count;
            let sig = ctx
                .send(vec![ix::create_market(
                    &me, &pool_key, index, sym, feed_id, params,
                )])
                .await?;
            ctx.done(
                "create_market",
                &sig,
                json!({ "market": pda::market(&pool_key, index).0.to_string(), "index": index }),
            );
        }
        Command::UpdatePoolParams { pool_id, set } => {
            let (pool_key, pool, _) = ctx.pool(pool_id).await?;
            let mut params = pool.params;
            set_pool_params(&mut params, &set)?;
            let sig = ctx
                .send(vec![ix::update_pool_params(&me, &pool_key, params)])
                .await?;
            ctx.done("update_pool_params", &sig, json!({ "changes": set.len() }));
        }
        Command::UpdateMarketParams {
            pool_id,
            market,
            set,
        } => {
            let (_, current, m) = ctx.market_keys(pool_id, market).await?;
            let mut params = current.params;
            set_market_params(&mut params, &set)?;
            let sig = ctx
                .send(vec![ix::update_market_params(
                    &me, &m.pool, &m.market, params,
                )])
                .await?;
            ctx.done(
                "update_market_params",
                &sig,
                json!({ "changes": set.len() }),
            );
        }
        Command::Pause {
            flags,
            pool_id,
            market,
        } => {
            let pool = pool_id.map(|id| pda::pool(id).0);
            let market = match (pool, market) {
                (Some(p), Some(i)) => Some(pda::market(&p, i).0),
                _ => None,
            };
            let sig = ctx
                .send(vec![ix::set_pause_flags(
                    &me,
                    pool.as_ref(),
                    market.as_ref(),
                    flags,
                )])
                .await?;
            ctx.done("set_pause_flags", &sig, json!({ "flags": flags }));
        }
        Command::TransferAdmin { new_admin } => {
            let sig = ctx.send(vec![ix::transfer_admin(&me, &new_admin)]).await?;
            ctx.done(
                "transfer_admin",
                &sig,
                json!({ "pending_admin": new_admin.to_string() }),
            );
        }
        Command::AcceptAdmin => {
            let sig = ctx.send(vec![ix::accept_admin(&me)]).await?;
            ctx.done("accept_admin", &sig, json!({ "admin": me.to_string() }));
        }
        Command::Pool { pool_id } => {
            let (key, pool, keys) = ctx.pool(pool_id).await?;
            let v: PoolValueView = ctx.view(ix::get_pool_value(&keys)).await?;
            let d = pool.settlement_decimals as u32;
            let out = json!({
                "pool": key.to_string(),
                "settlement_mint": pool.settlement_mint.to_string(),
                "markets": pool.markets().iter().map(|m| m.to_string()).collect::<Vec<_>>(),
                "lp_balance": format_decimal(v.lp_balance as i128, d),
                "pool_value_min": format_decimal(v.pool_value_min as i128, d),
                "pool_value_max": format_decimal(v.pool_value_max as i128, d),
                "share_price": format_decimal(v.share_price_min as i128, 9),
                "total_reserved": format_decimal(v.total_reserved as i128, d),
                "withdrawable": format_decimal(v.withdrawable as i128, d),
                "utilization_bps": v.utilization_bps,
                "bad_debt": format_decimal(pool.bad_debt as i128, d),
                "pause_flags": pool.pause_flags,
            });
            match ctx.output {
                Output::Json => println!("{out}"),
                Output::Human => {
                    for (k, v) in out.as_object().expect("object") {
                        println!("{k:>16}: {}", v.to_string().trim_matches('"'));
                    }
                }
            }
        }
        Command::Deposit {
            pool_id,
            amount,
            min_shares,
        } => {
            let (_, pool, keys) = ctx.pool(pool_id).await?;
            let d = pool.settlement_decimals as u32;
            let from = get_associated_token_address(&me, &pool.settlement_mint);
            let lp = get_associated_token_address(&me, &pool.lp_mint);
            let ixs = vec![
                create_associated_token_account_idempotent(
                    &me,
                    &me,
                    &pool.lp_mint,
                    &TOKEN_PROGRAM_ID,
                ),
                ix::deposit_liquidity(
                    &me,
                    &keys,
                    &from,
                    &lp,
                    parse_decimal(&amount, d)?,
                    parse_decimal(&min_shares, d)?,
                ),
            ];
            let sig = ctx.send(ixs).await?;
            ctx.done("deposit_liquidity", &sig, json!({ "amount": amount }));
        }
        Command::Withdraw {
            pool_id,
            shares,
            min_amount,
        } => {
            let (_, pool, keys) = ctx.pool(pool_id).await?;
            let d = pool.settlement_decimals as u32;
            let to = get_associated_token_address(&me, &pool.settlement_mint);
            let lp = get_associated_token_address(&me, &pool.lp_mint);
            let ixs = vec![
                create_associated_token_account_idempotent(
                    &me,
                    &me,
                    &pool.settlement_mint,
                    &TOKEN_PROGRAM_ID,
                ),
                ix::withdraw_liquidity(
                    &me,
                    &keys,
                    &lp,
                    &to,
                    parse_decimal(&shares, d)?,
                    parse_decimal(&min_amount, d)?,
                ),
            ];
            let sig = ctx.send(ixs).await?;
            ctx.done("withdraw_liquidity", &sig, json!({ "shares": shares }));
        }
        Command::CancelRequest { pool_id } => {
            let (pool_key, pool, _) = ctx.pool(pool_id).await?;
            let request: LiquidityRequest = ctx
                .account(&pda::lp_request(&pool_key, &me).0, "LP request")
                .await?;
            let mint = match request.kind {
                LiquidityRequestKind::Deposit => pool.settlement_mint,
                LiquidityRequestKind::Withdrawal => pool.lp_mint,
            };
            let refund = get_associated_token_address(&me, &mint);
            let ixs = vec![
                create_associated_token_account_idempotent(&me, &me, &mint, &TOKEN_PROGRAM_ID),
                ix::cancel_liquidity_request(&me, &pool_key, &refund),
            ];
            let sig = ctx.send(ixs).await?;
            ctx.done(
                "cancel_liquidity_request",
                &sig,
                json!({ "kind": format!("{:?}", request.kind), "amount": request.amount }),
            );
        }
        Command::ExecuteRequest { pool_id, owner } => {
            let (pool_key, _, keys) = ctx.pool(pool_id).await?;
            let owner = owner.unwrap_or(me);
            let request: LiquidityRequest = ctx
                .account(&pda::lp_request(&pool_key, &owner).0, "LP request")
                .await?;
            let sig = ctx
                .send(vec![ix::execute_liquidity_request(
                    &me,
                    &keys,
                    &owner,
                    &request.receiver,
                )])
                .await?;
            ctx.done(
                "execute_liquidity_request",
                &sig,
                json!({ "owner": owner.to_string(), "kind": format!("{:?}", request.kind) }),
            );
        }
        Command::Open {
            target,
            size_usd,
            collateral,
            acceptable_price,
        } => {
            let (pool, _, m) = ctx.market_keys(target.pool_id, target.market).await?;
            let side: Side = target.side.into();
            let acceptable = match acceptable_price {
                Some(p) => price(&p)?,
                None if side.is_long() => u64::MAX,
                None => 0,
            };
            let from = get_associated_token_address(&me, &pool.settlement_mint);
            let collateral = parse_decimal(&collateral, pool.settlement_decimals as u32)?;
            let sig = ctx
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
            ctx.done(
                "open_position",
                &sig,
                json!({ "position": m.position(&me, side).to_string() }),
            );
        }
        Command::Decrease {
            target,
            size_usd,
            acceptable_price,
            min_amount,
        } => {
            let (pool, _, m) = ctx.market_keys(target.pool_id, target.market).await?;
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
            let sig = ctx
                .send(vec![ix::decrease_position(
                    &me, &m, side, &to, size, acceptable, min,
                )])
                .await?;
            ctx.done("decrease_position", &sig, json!({ "size_usd": size_usd }));
        }
        Command::AddCollateral { target, amount } => {
            let (pool, _, m) = ctx.market_keys(target.pool_id, target.market).await?;
            let from = get_associated_token_address(&me, &pool.settlement_mint);
            let amount_units = parse_decimal(&amount, pool.settlement_decimals as u32)?;
            let sig = ctx
                .send(vec![ix::add_collateral(
                    &me,
                    &m,
                    target.side.into(),
                    &from,
                    amount_units,
                )])
                .await?;
            ctx.done("add_collateral", &sig, json!({ "amount": amount }));
        }
        Command::RemoveCollateral { target, amount } => {
            let (pool, _, m) = ctx.market_keys(target.pool_id, target.market).await?;
            let to = get_associated_token_address(&me, &pool.settlement_mint);
            let amount_units = parse_decimal(&amount, pool.settlement_decimals as u32)?;
            let sig = ctx
                .send(vec![ix::remove_collateral(
                    &me,
                    &m,
                    target.side.into(),
                    &to,
                    amount_units,
                )])
                .await?;
            ctx.done("remove_collateral", &sig, json!({ "amount": amount }));
        }
        Command::SetTriggers {
            target,
            take_profit,
            stop_loss,
        } => {
            let (_, _, m) = ctx.market_keys(target.pool_id, target.market).await?;
            let tp = take_profit.as_deref().map(price).transpose()?.unwrap_or(0);
            let sl = stop_loss.as_deref().map(price).transpose()?.unwrap_or(0);
            let sig = ctx
                .send(vec![ix::set_trigger_orders(
                    &me,
                    &m.market,
                    target.side.into(),
                    tp,
                    sl,
                )])
                .await?;
            ctx.done(
                "set_trigger_orders",
                &sig,
                json!({ "take_profit": tp, "stop_loss": sl }),
            );
        }
        Command::Positions { pool_id, owner } => {
            let owner = owner.unwrap_or(me);
            let (pool_key, pool, keys) = ctx.pool(pool_id).await?;
            let d = pool.settlement_decimals as u32;
            let mut out = Vec::new();
            for (i, mo) in keys.markets.iter().enumerate() {
                for side in [Side::Long, Side::Short] {
                    let key = pda::position(&mo.market, &owner, side).0;
                    let Ok(p) = ctx.account::<Position>(&key, "position").await else {
                        continue;
                    };
                    let m = MarketKeys {
                        pool: pool_key,
                        market: mo.market,
                        price_update: mo.price_update,
                        settlement_price_update: keys.settlement_price_update,
                    };
                    let health = ctx
                        .view::<PositionHealth>(ix::get_position_health(&m, &key))
                        .await;
                    out.push(json!({
                        "position": key.to_string(),
                        "market_index": i,
                        "side": format!("{:?}", p.side),
                        "size": format_decimal(p.size_base as i128, 9),
                        "entry_notional_usd": format_decimal(p.entry_notional_usd as i128, USD_DECIMALS),
                        "collateral": format_decimal(p.collateral as i128, d),
                        "health": health.map(|h| health_json(&h, d)).unwrap_or_else(|e| json!({ "error": e })),
                    }));
                }
            }
            match ctx.output {
                Output::Json => println!("{}", serde_json::Value::Array(out)),
                Output::Human if out.is_empty() => println!("no positions for {owner}"),
                Output::Human => {
                    for p in out {
                        println!("{}", serde_json::to_string_pretty(&p).expect("json"));
                    }
                }
            }
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("tidepool").chain(args.iter().copied()))
    }

    #[test]
    fn parses_trader_commands_with_solana_conventions() {
        let c = parse(&[
            "-u",
            "devnet",
            "--keypair",
            "k.json",
            "open",
            "--pool-id",
            "0",
            "--side",
            "long",
            "--size-usd",
            "1500",
            "--collateral",
            "150",
        ])
        .unwrap();
        assert_eq!(c.url.as_deref(), Some("devnet"));
        assert_eq!(c.keypair, Some(PathBuf::from("k.json")));
        match c.command {
            Command::Open {
                target, size_usd, ..
            } => {
                assert_eq!(
                    (
                        target.pool_id,
                        target.market,
                        target.side,
                        size_usd.as_str()
                    ),
                    (0, 0, SideArg::Long, "1500")
                );
            }
            other => panic!("{other:?}"),
        }
        let c = parse(&[
            "decrease",
            "--pool-id",
            "1",
            "--side",
            "short",
            "--size-usd",
            "all",
            "--output",
            "json",
        ])
        .unwrap();
        assert_eq!(c.output, Output::Json);
        assert!(matches!(
            c.command,
            Command::Decrease {
                target: PositionTarget { pool_id: 1, .. },
                ..
            }
        ));
    }

    #[test]
    fn refuses_bad_arguments() {
        assert!(parse(&[
            "open",
            "--pool-id",
            "0",
            "--side",
            "sideways",
            "--size-usd",
            "1",
            "--collateral",
            "1"
        ])
        .is_err());
        assert!(
            parse(&["pause", "--flags", "1", "--market", "0"]).is_err(),
            "a market needs its pool"
        );
        assert!(parse(&[
            "create-pool",
            "--pool-id",
            "0",
            "--mint",
            "x",
            "--feed-id",
            "00"
        ])
        .is_err());
        assert!(parse(&["deposit", "--pool-id", "70000", "--amount", "1"]).is_err());
        assert!(parse(&["frobnicate"]).is_err());
        assert!(parse(&["--price-account", "nope", "pool", "--pool-id", "0"]).is_err());
    }

    #[test]
    fn parameter_changes_are_applied_by_name() {
        let c = parse(&[
            "update-market-params",
            "--pool-id",
            "0",
            "--set",
            "base_initial_margin_bps=600",
            "--set",
            "oracle.max_age_seconds=30",
        ])
        .unwrap();
        let Command::UpdateMarketParams { set, .. } = c.command else {
            panic!()
        };
        let mut p = tidepool_client::defaults::market_params();
        set_market_params(&mut p, &set).unwrap();
        assert_eq!(
            (p.base_initial_margin_bps, p.oracle.max_age_seconds),
            (600, 30)
        );
        let mut q = tidepool_client::defaults::pool_params();
        let bad = [("max_utilization".to_string(), "1".to_string())];
        assert!(set_pool_params(&mut q, &bad)
            .unwrap_err()
            .contains("known: max_depeg_bps"));
        let bad = [("deposit_fee_bps".to_string(), "-1".to_string())];
        assert!(set_pool_params(&mut q, &bad)
            .unwrap_err()
            .contains("deposit_fee_bps"));
        set_pool_params(
            &mut q,
            &[("settlement_oracle.max_confidence_bps".into(), "50".into())],
        )
        .unwrap();
        assert_eq!(q.settlement_oracle.max_confidence_bps, 50);
        assert!(
            parse(&["update-pool-params", "--pool-id", "0"]).is_err(),
            "--set is required"
        );
    }

    #[test]
    fn parses_admin_commands() {
        let k = Pubkey::new_unique().to_string();
        let feed = "ef".repeat(32);
        assert!(matches!(
            parse(&["init", "--fee-recipient", &k]).unwrap().command,
            Command::Init { .. }
        ));
        let c = parse(&[
            "create-market",
            "--pool-id",
            "0",
            "--symbol",
            "SOL-PERP",
            "--feed-id",
            &feed,
        ])
        .unwrap();
        match c.command {
            Command::CreateMarket { feed_id, .. } => assert_eq!(feed_id, [0xef; 32]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["pause", "--flags", "3", "--pool-id", "0", "--market", "1"])
                .unwrap()
                .command,
            Command::Pause {
                flags: 3,
                pool_id: Some(0),
                market: Some(1)
            }
        ));
    }
}
