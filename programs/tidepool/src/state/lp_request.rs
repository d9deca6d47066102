use anchor_lang::prelude::*;
use tidepool_layout::{Fixed, FixedAccount};

use super::Pool;
use crate::math::{MathResult, SafeMath};

/// Deposit or withdrawal.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace, Fixed,
)]
pub enum LiquidityRequestKind {
    /// `amount` settlement base units wait in the vault; shares are minted at execution.
    Deposit,
    /// `amount` LP shares were burnt at the request; tokens are paid at execution.
    Withdrawal,
}

/// A pending LP deposit or withdrawal, executed by a keeper with prices published at least
/// `lp_request_delay_seconds` after `request_time`, or cancelled by its owner.
/// PDA `["lp_request", pool, owner]`: one pending request per owner and pool.
///
/// It executes at the pool value least favourable to the requester of two: the one at the
/// request (`pool_value` over `share_supply`) and the one at execution. A price jump known
/// before it is posted is therefore worth nothing to a depositor or a withdrawer: the
/// request cannot execute before the jump is published, and the older, pre-jump value can
/// only make the result worse.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, InitSpace, Debug, Fixed, FixedAccount)]
pub struct LiquidityRequest {
    /// Layout version (`ACCOUNT_VERSION`).
    pub version: u8,
    pub bump: u8,
    pub kind: LiquidityRequestKind,
    pub pool: Pubkey,
    pub owner: Pubkey,
    /// Token account that receives the result: LP shares (deposit) or settlement tokens
    /// (withdrawal).
    pub receiver: Pubkey,
    /// Settlement base units (deposit) or LP shares (withdrawal).
    pub amount: u64,
    /// Least shares (deposit) or tokens (withdrawal) the owner accepts.
    pub min_out: u64,
    /// Cluster time of the request.
    pub request_time: i64,
    /// Pool value at the request (highest plausible for a deposit, lowest for a
    /// withdrawal), settlement base units.
    pub pool_value: u64,
    /// Share supply at the request (locked and pending-withdrawal shares included).
    pub share_supply: u64,
    /// Lamports held for the executing keeper, above the rent.
    pub keeper_fee_lamports: u64,
    pub padding: [u8; 64],
}

impl LiquidityRequest {
    /// Bytes on chain, discriminator included.
    pub const SIZE: usize = 8 + 1 + 1 + 1 + 32 * 3 + 8 * 6 + 64;
    /// Byte offsets of `pool` and `owner` (memcmp filters; asserted in the client's layout
    /// test).
    pub const POOL_OFFSET: usize = 11;
    pub const OWNER_OFFSET: usize = 43;

    /// Earliest publish time of the prices (every market's and the settlement token's)
    /// that may execute this request: the program checks it, keepers wait for it.
    pub fn executable_from(&self, pool: &Pool) -> MathResult<i64> {
        self.request_time
            .safe_add(pool.params.lp_request_delay_seconds as i64)
    }
}
crate::const_assert_size!(LiquidityRequest, LiquidityRequest::SIZE);
