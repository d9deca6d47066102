use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::CONFIG_ADDRESS;
use crate::engine::marks::mark_market;
use crate::engine::position::DecreaseOutcome;
use crate::engine::token::pay_from_vault;
use crate::error::TidepoolError;
use crate::math::oracle::OraclePrice;
use crate::state::{Config, Market, Pool, Position};

/// Accounts of every close a keeper drives (liquidation, trigger orders, deleveraging).
/// Keepers are anyone; they are paid from the position.
#[derive(Accounts)]
pub struct KeeperClose<'info> {
    #[account(mut)]
    pub keeper: Signer<'info>,
    #[account(address = CONFIG_ADDRESS)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut, dup)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, dup, has_one = pool @ TidepoolError::MarketPoolMismatch)]
    pub market: Box<Account<'info, Market>>,
    #[account(mut, dup,
        has_one = market @ TidepoolError::InvalidPosition,
        has_one = owner @ TidepoolError::InvalidPosition)]
    pub position: Box<Account<'info, Position>>,
    /// CHECK: the position's owner (`has_one` above); receives the rent when it closes.
    #[account(mut)]
    pub owner: UncheckedAccount<'info>,
    /// Receives what is left for the owner. A keeper can create the owner's associated
    /// token account in the same transaction, so a closed account never blocks a close.
    #[account(mut, dup,
        constraint = owner_token_account.key() != vault.key() @ TidepoolError::VaultAsUserAccount,
        constraint = owner_token_account.mint == pool.settlement_mint @ TidepoolError::InvalidMint,
        constraint = owner_token_account.owner == position.owner @ TidepoolError::InvalidTokenOwner)]
    pub owner_token_account: Box<Account<'info, TokenAccount>>,
    /// Receives the keeper's fee (any holder).
    #[account(mut, dup,
        constraint = keeper_token_account.key() != vault.key() @ TidepoolError::VaultAsUserAccount,
        constraint = keeper_token_account.mint == pool.settlement_mint @ TidepoolError::InvalidMint)]
    pub keeper_token_account: Box<Account<'info, TokenAccount>>,
    #[account(mut, dup, address = pool.vault @ TidepoolError::InvalidVault)]
    pub vault: Box<Account<'info, TokenAccount>>,
    /// CHECK: the market's Pyth price, validated by `engine::marks::read_price`.
    pub price_update: UncheckedAccount<'info>,
    /// CHECK: the settlement token's Pyth price, validated by `engine::marks::read_price`.
    pub settlement_price_update: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

impl<'info> KeeperClose<'info> {
    /// Validated market and settlement prices; the market observes the price and accrues.
    pub fn load_prices(&mut self, now: i64) -> Result<(OraclePrice, OraclePrice)> {
        mark_market(
            &mut self.pool,
            &mut self.market,
            &self.price_update,
            &self.settlement_price_update,
            now,
        )
    }

    /// Move the tokens of a close: the keeper's fee, the owner's payout (unless it stays
    /// as collateral), and the account back to the owner when closed.
    pub fn finish(&mut self, o: &DecreaseOutcome, payout: OwnerPayout) -> Result<()> {
        let pool_info = self.pool.to_account_info();
        pay_from_vault(
            &self.token_program,
            &self.vault,
            &self.keeper_token_account,
            pool_info.clone(),
            &self.pool,
            o.keeper_fee,
        )?;
        if payout == OwnerPayout::Pay {
            pay_from_vault(
                &self.token_program,
                &self.vault,
                &self.owner_token_account,
                pool_info,
                &self.pool,
                o.payout,
            )?;
        }
        if o.closed {
            self.position.close(self.owner.to_account_info())?;
        }
        Ok(())
    }
}

/// What a keeper's close does with what the owner is owed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerPayout {
    /// Pay it to the owner's token account.
    Pay,
    /// Leave it in the position as collateral (a partial liquidation).
    KeepAsCollateral,
}
