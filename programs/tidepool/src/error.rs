use anchor_lang::prelude::*;

use crate::math::MathError;

#[error_code]
pub enum TidepoolError {
    // --- authority -------------------------------------------------------------------
    #[msg("Signer is not the protocol admin")]
    Unauthorized,
    #[msg("Signer is not the pending admin")]
    NotPendingAdmin,
    #[msg("This action is paused")]
    Paused,
    #[msg("Pause flags contain unknown bits")]
    InvalidPauseFlags,

    // --- parameters ------------------------------------------------------------------
    #[msg("Fee in bps is above its bound")]
    InvalidFee,
    #[msg("Margin ratio out of bounds (initial must exceed maintenance, both below 100%)")]
    InvalidMarginRatio,
    #[msg("Margin multiplier out of bounds")]
    InvalidMarginMultiplier,
    #[msg("Utilization bound must be in (0, 100%]")]
    InvalidUtilization,
    #[msg("Oracle max age must be between 1 second and 1 hour")]
    InvalidOracleMaxAge,
    #[msg("Oracle confidence bound out of range")]
    InvalidOracleConfidenceBound,
    #[msg("Oracle EMA deviation bound out of range")]
    InvalidOracleDeviationBound,
    #[msg("Settlement depeg bound out of range")]
    InvalidDepegBound,
    #[msg("Max profit factor out of range")]
    InvalidProfitFactor,
    #[msg("Max PnL factor or net-exposure share out of range")]
    InvalidPnlFactor,
    #[msg("Open interest or skew cap out of range")]
    InvalidOpenInterestCap,
    #[msg("Borrow rate curve out of range")]
    InvalidBorrowCurve,
    #[msg("Funding parameters out of range")]
    InvalidFundingParams,
    #[msg("Volatility window or horizon out of range")]
    InvalidVolatilityParams,
    #[msg("Minimum hold time out of range")]
    InvalidMinHold,
    #[msg("Position size limits out of range")]
    InvalidSizeLimits,
    #[msg("Pyth feed id must not be zero")]
    InvalidFeedId,
    #[msg("Settlement mint has too many decimals")]
    InvalidSettlementDecimals,

    // --- accounts --------------------------------------------------------------------
    #[msg("The pool already has the maximum number of markets")]
    TooManyMarkets,
    #[msg("Market does not belong to this pool")]
    MarketPoolMismatch,
    #[msg("Markets and price accounts must be passed as pairs for every pool market, in order")]
    MarketAccountsMismatch,
    #[msg("Vault is not this pool's vault")]
    InvalidVault,
    #[msg("LP mint is not this pool's LP mint")]
    InvalidLpMint,
    #[msg("Token account has the wrong mint")]
    InvalidMint,
    #[msg("Token account is not owned by the signer")]
    InvalidTokenOwner,
    #[msg("A market must be given with its pool")]
    MissingPool,

    // --- oracle ----------------------------------------------------------------------
    #[msg("Price account is not owned by the Pyth receiver program")]
    OracleWrongOwner,
    #[msg("Price account is not a PriceUpdateV2")]
    OracleInvalidAccount,
    #[msg("Price update is not fully verified")]
    OracleNotFullyVerified,
    #[msg("Price update is for another feed")]
    OracleFeedMismatch,
    #[msg("Price update is too old")]
    OracleStale,
    #[msg("Price update is dated in the future")]
    OracleFutureDated,
    #[msg("Price update is older than the last one this market used")]
    OracleOlderThanLastUsed,
    #[msg("Oracle price is not positive")]
    OracleNonPositivePrice,
    #[msg("Oracle confidence interval is too wide")]
    OracleConfidenceTooWide,
    #[msg("Oracle spot price diverges too far from its EMA")]
    OracleEmaDivergence,
    #[msg("Oracle exponent is out of range")]
    OracleInvalidExponent,
    #[msg("Settlement token is off its peg")]
    SettlementDepegged,

    // --- amounts ---------------------------------------------------------------------
    #[msg("Amount must be greater than zero")]
    ZeroAmount,
    #[msg("Deposit too small to mint any shares")]
    DepositTooSmall,
    #[msg("Withdrawal too small to pay out anything")]
    WithdrawalTooSmall,
    #[msg("Result is worse than the caller's slippage bound")]
    SlippageExceeded,
    #[msg("Pool value is zero: no shares can be priced")]
    PoolValueZero,
    #[msg("Withdrawal would take liquidity that backs open positions")]
    InsufficientLiquidity,
    #[msg("Not enough LP shares")]
    InsufficientShares,

    // --- trading ---------------------------------------------------------------------
    #[msg("Size must be greater than zero")]
    ZeroSize,
    #[msg("Position would be below the market's minimum size")]
    PositionTooSmall,
    #[msg("What would remain of the position is below the minimum size: close it in full")]
    RemainingPositionTooSmall,
    #[msg("Collateral does not cover the fees due")]
    InsufficientCollateral,
    #[msg("Equity would be below the initial margin")]
    InsufficientMargin,
    #[msg("Reserves would exceed the pool's maximum utilization")]
    MaxUtilizationExceeded,
    #[msg("Open interest would exceed the side's cap")]
    OpenInterestCapExceeded,
    #[msg("Skew between longs and shorts would exceed the market's cap")]
    SkewCapExceeded,
    #[msg("Fill price is worse than the acceptable price")]
    PriceSlippage,
    #[msg("Position belongs to another owner or market")]
    InvalidPosition,
    #[msg("Fees and funding exceed the collateral: close the position in full")]
    PositionUnderwater,

    // --- keepers -----------------------------------------------------------------------
    #[msg("Position is healthy: equity covers the maintenance margin")]
    PositionHealthy,
    #[msg("Take-profit and stop-loss are on the wrong sides of each other")]
    InvalidTriggerPrices,
    #[msg("No trigger order has been crossed")]
    TriggerNotReached,
    #[msg("Position cannot be deleveraged: its profit is below its reserve and the pool's traders' profit is within the cap")]
    NotDeleveragable,
    #[msg("Position is less profitable than its side's average: deleverage a more profitable one")]
    NotMostProfitable,
    #[msg("Signer is not the protocol's fee recipient")]
    NotFeeRecipient,
    #[msg("No protocol fees to collect")]
    NoFeesToCollect,

    // --- math ------------------------------------------------------------------------
    #[msg("Arithmetic overflow")]
    MathOverflow,
    #[msg("Division by zero")]
    DivisionByZero,
    #[msg("Value out of domain")]
    MathDomain,

    // --- added by the security review (appended: earlier codes keep their numbers) -----
    #[msg("Trigger order would realize a profit inside the minimum hold: it executes once the hold has passed")]
    TriggerInMinHold,
    #[msg("Position is inside its minimum hold: it cannot be deleveraged yet")]
    DeleverageInMinHold,
    #[msg("Liquidation fee must be below the base maintenance margin")]
    InvalidLiquidationFee,
    #[msg("Only the program's upgrade authority may initialize the protocol")]
    NotUpgradeAuthority,
    #[msg("Price update was published before the request's execution delay passed")]
    PriceBeforeRequest,
    #[msg("Liquidity request belongs to another pool or owner")]
    InvalidLiquidityRequest,
    #[msg("LP request delay out of range")]
    InvalidRequestParams,
    #[msg("Receiver is not the account the request names")]
    InvalidReceiver,
    #[msg("Traders on this side already hold the profit the pool's PnL cap allows")]
    PoolProfitCapReached,
    #[msg("The pool's vault cannot be the trader's or keeper's token account")]
    VaultAsUserAccount,
}

impl From<MathError> for Error {
    fn from(e: MathError) -> Self {
        match e {
            MathError::Overflow => TidepoolError::MathOverflow.into(),
            MathError::DivisionByZero => TidepoolError::DivisionByZero.into(),
            MathError::OutOfDomain => TidepoolError::MathDomain.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TidepoolError;
    use anchor_lang::error::ErrorCode;

    /// The error names and messages that programs log and clients show come from the
    /// `#[error_code]` codegen in vendor/anchor-attribute-error: name = variant, message =
    /// `#[msg]` text, for Tidepool's errors and for Anchor's own.
    #[test]
    fn error_names_and_messages_are_the_declared_ones() {
        let e = TidepoolError::Unauthorized;
        assert_eq!(e.name(), "Unauthorized");
        assert_eq!(e.to_string(), "Signer is not the protocol admin");
        let e = TidepoolError::InvalidMarginRatio;
        assert_eq!(e.name(), "InvalidMarginRatio");
        assert_eq!(
            e.to_string(),
            "Margin ratio out of bounds (initial must exceed maintenance, both below 100%)"
        );
        let e = ErrorCode::ConstraintHasOne;
        assert_eq!(e.name(), "ConstraintHasOne");
        assert_eq!(e.to_string(), "A has one constraint was violated");
        let e = ErrorCode::AccountDiscriminatorMismatch;
        assert_eq!(e.name(), "AccountDiscriminatorMismatch");
        assert_eq!(
            e.to_string(),
            "Account discriminator did not match what was expected"
        );
    }
}
