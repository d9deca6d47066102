pub mod cancel_liquidity_request;
pub mod deposit_liquidity;
pub mod execute_liquidity_request;
pub mod withdraw_liquidity;

pub use cancel_liquidity_request::*;
pub use deposit_liquidity::*;
pub use execute_liquidity_request::*;
pub use withdraw_liquidity::*;

use anchor_lang::prelude::*;
use anchor_lang::system_program;

use crate::constants::ACCOUNT_VERSION;
use crate::error::TidepoolError;
use crate::events::LiquidityRequested;
use crate::state::{LiquidityRequest, LiquidityRequestKind, Pool};

/// What a new LP request records besides its pool, owner and time.
struct NewRequest {
    kind: LiquidityRequestKind,
    receiver: Pubkey,
    amount: u64,
    min_out: u64,
    pool_value: u64,
    share_supply: u64,
}

/// Fill a just-created request account, move the pool's keeper fee from the owner into
/// it, and return the event to emit.
#[allow(clippy::too_many_arguments)]
fn open_request<'info>(
    request: &mut Account<'info, LiquidityRequest>,
    bump: u8,
    pool: &Pool,
    pool_key: Pubkey,
    owner: &Signer<'info>,
    system: &Program<'info, System>,
    new: NewRequest,
    now: i64,
) -> Result<LiquidityRequested> {
    let keeper_fee = pool.params.lp_request_keeper_fee_lamports;
    if keeper_fee > 0 {
        system_program::transfer(
            CpiContext::new(
                system.key(),
                system_program::Transfer {
                    from: owner.to_account_info(),
                    to: request.to_account_info(),
                },
            ),
            keeper_fee,
        )?;
    }
    request.set_inner(LiquidityRequest {
        version: ACCOUNT_VERSION,
        bump,
        kind: new.kind,
        pool: pool_key,
        owner: owner.key(),
        receiver: new.receiver,
        amount: new.amount,
        min_out: new.min_out,
        request_time: now,
        pool_value: new.pool_value,
        share_supply: new.share_supply,
        keeper_fee_lamports: keeper_fee,
        padding: [0; 64],
    });
    Ok(LiquidityRequested {
        pool: pool_key,
        owner: owner.key(),
        request: request.key(),
        kind: new.kind,
        amount: new.amount,
        min_out: new.min_out,
        request_time: now,
        pool_value: new.pool_value,
        share_supply: new.share_supply,
        executable_from: request.executable_from(pool)?,
    })
}

/// Move the keeper fee a request holds (lamports above its rent) to the keeper that
/// executed it. The request is this program's account, so it may be debited directly.
fn pay_keeper_fee(request: &AccountInfo, keeper: &AccountInfo, fee: u64) -> Result<()> {
    if fee == 0 {
        return Ok(());
    }
    let mut from = request.try_borrow_mut_lamports()?;
    **from = from.checked_sub(fee).ok_or(TidepoolError::MathOverflow)?;
    let mut to = keeper.try_borrow_mut_lamports()?;
    **to = to.checked_add(fee).ok_or(TidepoolError::MathOverflow)?;
    Ok(())
}
