//! Liquidity provider commands: deposit and withdrawal requests, cancelling one, and
//! executing anyone's once its delay has passed (a keeper's job, open to all).

use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::get_associated_token_address;
use anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent;
use anchor_spl::token::ID as TOKEN_PROGRAM_ID;
use clap::Subcommand;
use serde_json::json;
use solana_sdk::signature::Signer;
use tidepool::state::{LiquidityRequest, LiquidityRequestKind};
use tidepool_client::ix;
use tidepool_client::pda;

use crate::config::Config;
use crate::units::parse_decimal;

#[derive(Subcommand, Debug)]
pub enum LpCommand {
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
}

pub async fn process(config: &Config, command: LpCommand) -> Result<(), String> {
    let me = config.signer.pubkey();
    match command {
        LpCommand::Deposit {
            pool_id,
            amount,
            min_shares,
        } => {
            let (_, pool, keys) = config.pool(pool_id).await?;
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
            let sig = config.send(ixs).await?;
            config.done("deposit_liquidity", &sig, json!({ "amount": amount }));
        }
        LpCommand::Withdraw {
            pool_id,
            shares,
            min_amount,
        } => {
            let (_, pool, keys) = config.pool(pool_id).await?;
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
            let sig = config.send(ixs).await?;
            config.done("withdraw_liquidity", &sig, json!({ "shares": shares }));
        }
        LpCommand::CancelRequest { pool_id } => {
            let (pool_key, pool, _) = config.pool(pool_id).await?;
            let request: LiquidityRequest = config
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
            let sig = config.send(ixs).await?;
            config.done(
                "cancel_liquidity_request",
                &sig,
                json!({ "kind": format!("{:?}", request.kind), "amount": request.amount }),
            );
        }
        LpCommand::ExecuteRequest { pool_id, owner } => {
            let (pool_key, _, keys) = config.pool(pool_id).await?;
            let owner = owner.unwrap_or(me);
            let request: LiquidityRequest = config
                .account(&pda::lp_request(&pool_key, &owner).0, "LP request")
                .await?;
            let sig = config
                .send(vec![ix::execute_liquidity_request(
                    &me,
                    &keys,
                    &owner,
                    &request.receiver,
                )])
                .await?;
            config.done(
                "execute_liquidity_request",
                &sig,
                json!({ "owner": owner.to_string(), "kind": format!("{:?}", request.kind) }),
            );
        }
    }
    Ok(())
}
