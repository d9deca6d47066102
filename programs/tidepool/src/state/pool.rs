use anchor_lang::prelude::*;
use tidepool_layout::{Fixed, FixedAccount};

use super::PoolParams;
use crate::constants::{MAX_MARKETS_PER_POOL, POOL_SEED};
use crate::math::valuation::utilization_bps;
use crate::math::{mul_div, MathResult, Rounding, SafeMath, BPS_DENOMINATOR};

/// A liquidity pool over one settlement token. PDA `["pool", pool_id (u16 LE)]`.
///
/// Accounting identity (SPEC 7.1), in settlement base units:
/// `vault balance = lp_balance + total_collateral + protocol_fees_owed + pending_deposits
/// (+ donations)`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, InitSpace, Debug, Fixed, FixedAccount)]
pub struct Pool {
    /// Layout version (`ACCOUNT_VERSION`).
    pub version: u8,
    pub bump: u8,
    pub vault_bump: u8,
    pub lp_mint_bump: u8,
    pub pool_id: u16,
    /// Pause flags of this pool (`constants::pause`).
    pub pause_flags: u16,
    /// Decimals of the settlement mint (and of the LP mint).
    pub settlement_decimals: u8,
    /// Number of entries used in `markets`.
    pub market_count: u8,
    pub settlement_mint: Pubkey,
    /// Token account PDA `["vault", pool]`, authority: this pool.
    pub vault: Pubkey,
    /// Mint PDA `["lp_mint", pool]`, authority: this pool.
    pub lp_mint: Pubkey,
    /// Pyth feed id of the settlement token's USD price.
    pub settlement_feed_id: [u8; 32],
    pub params: PoolParams,
    /// Last settlement-price publish time used; later reads may not go back before it.
    pub settlement_last_publish_time: i64,

    /// LPs' money: deposits, fees earned and trader losses, less withdrawals and trader
    /// profits. Settlement base units.
    pub lp_balance: u64,
    /// Σ collateral of all open positions, settlement base units.
    pub total_collateral: u64,
    /// Σ reserved profit of all open positions, settlement base units.
    pub total_reserved: u64,
    /// Protocol's share of fees, not yet collected. Settlement base units.
    pub protocol_fees_owed: u64,
    /// Cumulative bad debt absorbed by LPs. Settlement base units.
    pub bad_debt: u64,
    /// Cumulative fees credited to LPs (LP fees and their share of trading fees).
    pub cumulative_lp_fees: u64,
    /// Shares minted by the first deposit and locked forever (not in the LP mint's supply).
    /// Share supply = LP mint supply + `locked_shares`.
    pub locked_shares: u64,
    /// This pool's markets, in creation order; the first `market_count` are set.
    pub markets: [Pubkey; MAX_MARKETS_PER_POOL],
    /// Settlement tokens of pending deposit requests, held in the vault (not LP money yet).
    pub pending_deposits: u64,
    /// LP shares of pending withdrawal requests: burnt from their owners at the request,
    /// still counted in the share supply until the request executes or is cancelled.
    pub pending_withdrawal_shares: u64,
    /// ∫ utilization dt, bps × seconds, up to `utilization_updated_at`. Every change of the
    /// LP balance or of the reserves checkpoints it first, so each market's borrow fee is
    /// charged at the time-weighted utilization of its whole accrual period: a flash
    /// deposit before an accrual changes nothing.
    pub utilization_integral: u128,
    pub utilization_updated_at: i64,
    pub padding: [u8; 72],
}

impl Pool {
    /// Bytes on chain, discriminator included.
    pub const SIZE: usize = 8
        + 4
        + 2
        + 2
        + 1
        + 1
        + 32 * 4
        + PoolParams::INIT_SPACE
        + 8
        + 8 * 7
        + 32 * MAX_MARKETS_PER_POOL
        + 8 * 2
        + 16
        + 8
        + 72;

    /// Byte offsets of `settlement_mint` and `lp_balance` (memcmp filters, decoders;
    /// asserted in the client's layout test).
    pub const SETTLEMENT_MINT_OFFSET: usize = 18;
    pub const LP_BALANCE_OFFSET: usize = 190;

    pub fn markets(&self) -> &[Pubkey] {
        &self.markets[..self.market_count as usize]
    }

    /// Share supply: the LP mint's supply, the locked first-deposit shares and the shares
    /// of pending withdrawals (burnt from their owners, not yet paid).
    pub fn share_supply(&self, lp_mint_supply: u64) -> MathResult<u64> {
        lp_mint_supply
            .safe_add(self.locked_shares)?
            .safe_add(self.pending_withdrawal_shares)
    }

    /// `total_reserved / lp_balance`, bps.
    pub fn utilization_bps(&self) -> MathResult<u64> {
        utilization_bps(self.lp_balance, self.total_reserved)
    }

    /// Pool stress in bps: reserves over what the utilization cap allows (`utilization /
    /// max_utilization`), rounded up, capped at 100 %.
    pub fn stress_bps(&self) -> MathResult<u64> {
        Ok(mul_div(
            self.utilization_bps()? as u128,
            BPS_DENOMINATOR as u128,
            self.params.max_utilization_bps.max(1) as u128,
            Rounding::Up,
        )?
        .min(BPS_DENOMINATOR as u128) as u64)
    }

    /// `utilization_integral` carried forward to `now` at the current utilization.
    pub fn utilization_integral_at(&self, now: i64) -> MathResult<u128> {
        if self.utilization_updated_at == 0 || now <= self.utilization_updated_at {
            return Ok(self.utilization_integral);
        }
        let dt = (now - self.utilization_updated_at) as u128;
        self.utilization_integral
            .safe_add((self.utilization_bps()? as u128).safe_mul(dt)?)
    }

    /// Bring `utilization_integral` to `now`. Call before anything changes the LP balance
    /// or the reserves.
    pub fn checkpoint_utilization(&mut self, now: i64) -> MathResult<()> {
        self.utilization_integral = self.utilization_integral_at(now)?;
        self.utilization_updated_at = self.utilization_updated_at.max(now);
        Ok(())
    }

    /// Seeds to sign for the pool PDA (vault transfers, LP mint).
    pub fn signer(&self) -> PoolSigner {
        PoolSigner {
            id: self.pool_id.to_le_bytes(),
            bump: [self.bump],
        }
    }
}

/// Owned seed bytes of a pool PDA; `seeds()` borrows them for `CpiContext::new_with_signer`.
pub struct PoolSigner {
    id: [u8; 2],
    bump: [u8; 1],
}

impl PoolSigner {
    pub fn seeds(&self) -> [&[u8]; 3] {
        [POOL_SEED, &self.id, &self.bump]
    }
}

crate::const_assert_size!(Pool, Pool::SIZE);
