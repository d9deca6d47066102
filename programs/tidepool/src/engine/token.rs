//! Every token movement of the program: the vault pays out or takes in settlement tokens,
//! the pool mints or burns LP shares. One function each, signed the one right way.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Burn, Mint, MintTo, Token, TokenAccount, Transfer};

use crate::state::Pool;

/// Pay `amount` from the vault, signed by the pool.
pub fn pay_from_vault<'info>(
    token_program: &Program<'info, Token>,
    vault: &Account<'info, TokenAccount>,
    to: &Account<'info, TokenAccount>,
    pool_info: AccountInfo<'info>,
    pool: &Pool,
    amount: u64,
) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    let signer = pool.signer();
    token::transfer(
        CpiContext::new_with_signer(
            token_program.key(),
            Transfer {
                from: vault.to_account_info(),
                to: to.to_account_info(),
                authority: pool_info,
            },
            &[&signer.seeds()],
        ),
        amount,
    )
}

/// Take `amount` from a trader's token account into the vault.
pub fn pay_into_vault<'info>(
    token_program: &Program<'info, Token>,
    from: &Account<'info, TokenAccount>,
    vault: &Account<'info, TokenAccount>,
    owner: AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    token::transfer(
        CpiContext::new(
            token_program.key(),
            Transfer {
                from: from.to_account_info(),
                to: vault.to_account_info(),
                authority: owner,
            },
        ),
        amount,
    )
}

/// Mint `amount` LP shares to `to`, signed by the pool (the LP mint's authority).
pub fn mint_shares<'info>(
    token_program: &Program<'info, Token>,
    lp_mint: &Account<'info, Mint>,
    to: &Account<'info, TokenAccount>,
    pool_info: AccountInfo<'info>,
    pool: &Pool,
    amount: u64,
) -> Result<()> {
    let signer = pool.signer();
    token::mint_to(
        CpiContext::new_with_signer(
            token_program.key(),
            MintTo {
                mint: lp_mint.to_account_info(),
                to: to.to_account_info(),
                authority: pool_info,
            },
            &[&signer.seeds()],
        ),
        amount,
    )
}

/// Burn `amount` LP shares from `from`, signed by its owner.
pub fn burn_shares<'info>(
    token_program: &Program<'info, Token>,
    lp_mint: &Account<'info, Mint>,
    from: &Account<'info, TokenAccount>,
    owner: AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    token::burn(
        CpiContext::new(
            token_program.key(),
            Burn {
                mint: lp_mint.to_account_info(),
                from: from.to_account_info(),
                authority: owner,
            },
        ),
        amount,
    )
}
