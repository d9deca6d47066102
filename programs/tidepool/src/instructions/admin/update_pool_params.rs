use anchor_lang::prelude::*;

use crate::constants::CONFIG_ADDRESS;

use crate::error::TidepoolError;
use crate::events::{emit, PoolParamsUpdated};
use crate::math::BPS_DENOMINATOR;
use crate::state::{Config, Pool, PoolParams};

#[event_cpi]
#[derive(Accounts)]
pub struct UpdatePoolParams<'info> {
    pub admin: Signer<'info>,
    #[account(address = CONFIG_ADDRESS, has_one = admin @ TidepoolError::Unauthorized)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut, dup)]
    pub pool: Box<Account<'info, Pool>>,
}

pub fn update_pool_params(ctx: Context<UpdatePoolParams>, params: PoolParams) -> Result<()> {
    params.validate()?;
    // SPEC 7.2 holds after every instruction, this one too: a cap below the reserves already
    // taken is refused (pause OPEN to stop new risk instead).
    let pool = &ctx.accounts.pool;
    require!(
        (pool.total_reserved as u128) * (BPS_DENOMINATOR as u128)
            <= (params.max_utilization_bps as u128) * (pool.lp_balance as u128),
        TidepoolError::MaxUtilizationExceeded
    );
    let pool_key = ctx.accounts.pool.key();
    ctx.accounts.pool.params = params;
    emit(
        &ctx.accounts.event_authority,
        &PoolParamsUpdated {
            pool: pool_key,
            params,
        },
    )?;
    Ok(())
}
