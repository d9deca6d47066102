//! One builder per instruction. Each takes the keys an integrator knows and derives the
//! rest (PDAs, programs), so the account list always matches the program's.

use anchor_lang::prelude::{AccountMeta, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::system_program;
use anchor_lang::{InstructionData, ToAccountMetas};
use anchor_spl::token::ID as TOKEN_PROGRAM_ID;
use tidepool::state::{MarketParams, PoolParams, Side};
use tidepool::{accounts, instruction, ID};

use crate::pda;

/// Where a pool's market and its oracle live; LP instructions and views need all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketOracle {
    pub market: Pubkey,
    pub price_update: Pubkey,
}

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

fn with_markets(ix: Instruction, markets: &[MarketOracle]) -> Instruction {
    push_markets(ix, markets, false)
}

/// Markets writable: LP requests and their execution record each market's price.
fn with_markets_mut(ix: Instruction, markets: &[MarketOracle]) -> Instruction {
    push_markets(ix, markets, true)
}

fn push_markets(mut ix: Instruction, markets: &[MarketOracle], writable: bool) -> Instruction {
    for m in markets {
        ix.accounts.push(if writable {
            AccountMeta::new(m.market, false)
        } else {
            AccountMeta::new_readonly(m.market, false)
        });
        ix.accounts
            .push(AccountMeta::new_readonly(m.price_update, false));
    }
    ix
}

fn event_authority() -> Pubkey {
    pda::event_authority().0
}

pub fn initialize(admin: &Pubkey, fee_recipient: &Pubkey) -> Instruction {
    build(
        accounts::Initialize {
            admin: *admin,
            config: pda::config().0,
            program_data: pda::program_data(),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::Initialize {
            fee_recipient: *fee_recipient,
        },
    )
}

pub fn create_pool(
    admin: &Pubkey,
    pool_id: u16,
    settlement_mint: &Pubkey,
    settlement_feed_id: [u8; 32],
    params: PoolParams,
) -> Instruction {
    let pool = pda::pool(pool_id).0;
    build(
        accounts::CreatePool {
            admin: *admin,
            config: pda::config().0,
            pool,
            settlement_mint: *settlement_mint,
            vault: pda::vault(&pool).0,
            lp_mint: pda::lp_mint(&pool).0,
            token_program: TOKEN_PROGRAM_ID,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::CreatePool {
            pool_id,
            settlement_feed_id,
            params,
        },
    )
}

/// `index` must be the pool's current `market_count`.
pub fn create_market(
    admin: &Pubkey,
    pool: &Pubkey,
    index: u8,
    symbol: [u8; 16],
    feed_id: [u8; 32],
    params: MarketParams,
) -> Instruction {
    build(
        accounts::CreateMarket {
            admin: *admin,
            config: pda::config().0,
            pool: *pool,
            market: pda::market(pool, index).0,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::CreateMarket {
            symbol,
            feed_id,
            params,
        },
    )
}

pub fn update_pool_params(admin: &Pubkey, pool: &Pubkey, params: PoolParams) -> Instruction {
    build(
        accounts::UpdatePoolParams {
            admin: *admin,
            config: pda::config().0,
            pool: *pool,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::UpdatePoolParams { params },
    )
}

pub fn update_market_params(
    admin: &Pubkey,
    pool: &Pubkey,
    market: &Pubkey,
    params: MarketParams,
) -> Instruction {
    build(
        accounts::UpdateMarketParams {
            admin: *admin,
            config: pda::config().0,
            pool: *pool,
            market: *market,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::UpdateMarketParams { params },
    )
}

/// Flags of the market (when given, with its pool), else of the pool, else protocol-wide.
pub fn set_pause_flags(
    admin: &Pubkey,
    pool: Option<&Pubkey>,
    market: Option<&Pubkey>,
    flags: u16,
) -> Instruction {
    build(
        accounts::SetPauseFlags {
            admin: *admin,
            config: pda::config().0,
            pool: pool.copied(),
            market: market.copied(),
            event_authority: event_authority(),
            program: ID,
        },
        instruction::SetPauseFlags { flags },
    )
}

pub fn transfer_admin(admin: &Pubkey, new_admin: &Pubkey) -> Instruction {
    build(
        accounts::TransferAdmin {
            admin: *admin,
            config: pda::config().0,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::TransferAdmin {
            new_admin: *new_admin,
        },
    )
}

pub fn accept_admin(new_admin: &Pubkey) -> Instruction {
    build(
        accounts::AcceptAdmin {
            new_admin: *new_admin,
            config: pda::config().0,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::AcceptAdmin {},
    )
}

/// Keys of a pool that LP instructions need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolKeys {
    pub pool: Pubkey,
    pub settlement_mint: Pubkey,
    pub settlement_price_update: Pubkey,
    pub markets: Vec<MarketOracle>,
}

impl PoolKeys {
    pub fn vault(&self) -> Pubkey {
        pda::vault(&self.pool).0
    }
    pub fn lp_mint(&self) -> Pubkey {
        pda::lp_mint(&self.pool).0
    }
}

/// Request a deposit (executed later by a keeper: `execute_liquidity_request`).
pub fn deposit_liquidity(
    owner: &Pubkey,
    pool: &PoolKeys,
    funding_account: &Pubkey,
    lp_receiver: &Pubkey,
    amount: u64,
    min_shares_out: u64,
) -> Instruction {
    with_markets_mut(
        build(
            accounts::DepositLiquidity {
                owner: *owner,
                config: pda::config().0,
                pool: pool.pool,
                vault: pool.vault(),
                lp_mint: pool.lp_mint(),
                funding_account: *funding_account,
                lp_receiver: *lp_receiver,
                request: pda::lp_request(&pool.pool, owner).0,
                settlement_price_update: pool.settlement_price_update,
                token_program: TOKEN_PROGRAM_ID,
                system_program: system_program::ID,
                event_authority: event_authority(),
                program: ID,
            },
            instruction::DepositLiquidity {
                amount,
                min_shares_out,
            },
        ),
        &pool.markets,
    )
}

/// Request a withdrawal (executed later by a keeper: `execute_liquidity_request`).
pub fn withdraw_liquidity(
    owner: &Pubkey,
    pool: &PoolKeys,
    lp_account: &Pubkey,
    receiver: &Pubkey,
    shares: u64,
    min_amount_out: u64,
) -> Instruction {
    with_markets_mut(
        build(
            accounts::WithdrawLiquidity {
                owner: *owner,
                config: pda::config().0,
                pool: pool.pool,
                lp_mint: pool.lp_mint(),
                lp_account: *lp_account,
                receiver: *receiver,
                request: pda::lp_request(&pool.pool, owner).0,
                settlement_price_update: pool.settlement_price_update,
                token_program: TOKEN_PROGRAM_ID,
                system_program: system_program::ID,
                event_authority: event_authority(),
                program: ID,
            },
            instruction::WithdrawLiquidity {
                shares,
                min_amount_out,
            },
        ),
        &pool.markets,
    )
}

/// Execute `owner`'s pending LP request; `receiver` is the token account it names.
pub fn execute_liquidity_request(
    keeper: &Pubkey,
    pool: &PoolKeys,
    owner: &Pubkey,
    receiver: &Pubkey,
) -> Instruction {
    with_markets_mut(
        build(
            accounts::ExecuteLiquidityRequest {
                keeper: *keeper,
                config: pda::config().0,
                pool: pool.pool,
                vault: pool.vault(),
                lp_mint: pool.lp_mint(),
                request: pda::lp_request(&pool.pool, owner).0,
                owner: *owner,
                receiver: *receiver,
                settlement_price_update: pool.settlement_price_update,
                token_program: TOKEN_PROGRAM_ID,
                event_authority: event_authority(),
                program: ID,
            },
            instruction::ExecuteLiquidityRequest {},
        ),
        &pool.markets,
    )
}

/// Cancel `owner`'s pending LP request; the refund (settlement tokens for a deposit, LP
/// shares for a withdrawal) goes to `refund_account`.
pub fn cancel_liquidity_request(
    owner: &Pubkey,
    pool: &Pubkey,
    refund_account: &Pubkey,
) -> Instruction {
    build(
        accounts::CancelLiquidityRequest {
            owner: *owner,
            pool: *pool,
            vault: pda::vault(pool).0,
            lp_mint: pda::lp_mint(pool).0,
            request: pda::lp_request(pool, owner).0,
            refund_account: *refund_account,
            token_program: TOKEN_PROGRAM_ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::CancelLiquidityRequest {},
    )
}

pub fn refresh_market(pool: &Pubkey, market: &Pubkey, price_update: &Pubkey) -> Instruction {
    build(
        accounts::RefreshMarket {
            pool: *pool,
            market: *market,
            price_update: *price_update,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::RefreshMarket {},
    )
}

/// `refresh_market` that also re-tags `positions` (of this market) under the sides' current
/// price-bound generation (see `tidepool_client::keeper::stale_bound_positions`).
pub fn refresh_market_retag(
    pool: &Pubkey,
    market: &Pubkey,
    price_update: &Pubkey,
    positions: &[Pubkey],
) -> Instruction {
    let mut ix = refresh_market(pool, market, price_update);
    ix.accounts
        .extend(positions.iter().map(|p| AccountMeta::new(*p, false)));
    ix
}

/// View; simulate it and decode the return data as `PoolValueView`.
pub fn get_pool_value(pool: &PoolKeys) -> Instruction {
    with_markets(
        build(
            accounts::GetPoolValue {
                pool: pool.pool,
                lp_mint: pool.lp_mint(),
                settlement_price_update: pool.settlement_price_update,
            },
            instruction::GetPoolValue {},
        ),
        &pool.markets,
    )
}

/// Keys of one market that trading instructions need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketKeys {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub price_update: Pubkey,
    pub settlement_price_update: Pubkey,
}

impl MarketKeys {
    pub fn position(&self, owner: &Pubkey, side: Side) -> Pubkey {
        pda::position(&self.market, owner, side).0
    }
}

/// Open, or increase the owner's position on `side`.
pub fn open_position(
    owner: &Pubkey,
    m: &MarketKeys,
    funding_account: &Pubkey,
    side: Side,
    size_usd: u64,
    collateral: u64,
    acceptable_price: u64,
) -> Instruction {
    build(
        accounts::OpenPosition {
            owner: *owner,
            config: pda::config().0,
            pool: m.pool,
            market: m.market,
            position: m.position(owner, side),
            vault: pda::vault(&m.pool).0,
            funding_account: *funding_account,
            price_update: m.price_update,
            settlement_price_update: m.settlement_price_update,
            token_program: TOKEN_PROGRAM_ID,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::OpenPosition {
            side,
            size_usd,
            collateral,
            acceptable_price,
        },
    )
}

/// The owner's side of an existing position (`OwnerPosition`), shared by decrease,
/// add collateral and remove collateral.
fn owner_position(owner: &Pubkey, m: &MarketKeys, side: Side) -> accounts::OwnerPosition {
    accounts::OwnerPosition {
        owner: *owner,
        config: pda::config().0,
        pool: m.pool,
        market: m.market,
        position: m.position(owner, side),
        vault: pda::vault(&m.pool).0,
    }
}

/// Decrease (or, with `size_usd` of at least the position's, close) a position.
pub fn decrease_position(
    owner: &Pubkey,
    m: &MarketKeys,
    side: Side,
    receiving_account: &Pubkey,
    size_usd: u64,
    acceptable_price: u64,
    min_amount_out: u64,
) -> Instruction {
    build(
        accounts::DecreasePosition {
            trader: owner_position(owner, m, side),
            receiving_account: *receiving_account,
            price_update: m.price_update,
            settlement_price_update: m.settlement_price_update,
            token_program: TOKEN_PROGRAM_ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::DecreasePosition {
            size_usd,
            acceptable_price,
            min_amount_out,
        },
    )
}

pub fn add_collateral(
    owner: &Pubkey,
    m: &MarketKeys,
    side: Side,
    funding_account: &Pubkey,
    amount: u64,
) -> Instruction {
    build(
        accounts::AddCollateral {
            trader: owner_position(owner, m, side),
            funding_account: *funding_account,
            token_program: TOKEN_PROGRAM_ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::AddCollateral { amount },
    )
}

pub fn remove_collateral(
    owner: &Pubkey,
    m: &MarketKeys,
    side: Side,
    receiving_account: &Pubkey,
    amount: u64,
) -> Instruction {
    build(
        accounts::RemoveCollateral {
            trader: owner_position(owner, m, side),
            receiving_account: *receiving_account,
            price_update: m.price_update,
            settlement_price_update: m.settlement_price_update,
            token_program: TOKEN_PROGRAM_ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::RemoveCollateral { amount },
    )
}

/// View; decode the return data as `OpenQuote`. `position`: the one to increase, if any.
pub fn quote_open_position(
    m: &MarketKeys,
    position: Option<&Pubkey>,
    side: Side,
    size_usd: u64,
    collateral: u64,
) -> Instruction {
    build(
        accounts::QuoteOpenPosition {
            pool: m.pool,
            market: m.market,
            position: position.copied(),
            price_update: m.price_update,
            settlement_price_update: m.settlement_price_update,
        },
        instruction::QuoteOpenPosition {
            side,
            size_usd,
            collateral,
        },
    )
}

/// View; decode the return data as `DecreaseOutcome`.
pub fn quote_decrease_position(m: &MarketKeys, position: &Pubkey, size_usd: u64) -> Instruction {
    build(
        accounts::QuoteDecreasePosition {
            pool: m.pool,
            market: m.market,
            position: *position,
            price_update: m.price_update,
            settlement_price_update: m.settlement_price_update,
        },
        instruction::QuoteDecreasePosition { size_usd },
    )
}

/// View; decode the return data as `PositionHealth`.
pub fn get_position_health(m: &MarketKeys, position: &Pubkey) -> Instruction {
    build(
        accounts::GetPositionHealth {
            pool: m.pool,
            market: m.market,
            position: *position,
            price_update: m.price_update,
            settlement_price_update: m.settlement_price_update,
        },
        instruction::GetPositionHealth {},
    )
}

/// Accounts of a keeper-driven close of `position`, owned by `owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeeperCloseKeys {
    pub keeper: Pubkey,
    pub market: MarketKeys,
    pub position: Pubkey,
    pub owner: Pubkey,
    /// Receives what is left for the owner (must be the owner's).
    pub owner_token_account: Pubkey,
    /// Receives the keeper's fee.
    pub keeper_token_account: Pubkey,
}

fn keeper_close(k: &KeeperCloseKeys) -> accounts::KeeperClose {
    accounts::KeeperClose {
        keeper: k.keeper,
        config: pda::config().0,
        pool: k.market.pool,
        market: k.market.market,
        position: k.position,
        owner: k.owner,
        owner_token_account: k.owner_token_account,
        keeper_token_account: k.keeper_token_account,
        vault: pda::vault(&k.market.pool).0,
        price_update: k.market.price_update,
        settlement_price_update: k.market.settlement_price_update,
        token_program: TOKEN_PROGRAM_ID,
    }
}

pub fn liquidate(k: &KeeperCloseKeys) -> Instruction {
    build(
        accounts::Liquidate {
            close: keeper_close(k),
            event_authority: event_authority(),
            program: ID,
        },
        instruction::Liquidate {},
    )
}

pub fn execute_trigger_order(k: &KeeperCloseKeys) -> Instruction {
    build(
        accounts::ExecuteTriggerOrder {
            close: keeper_close(k),
            event_authority: event_authority(),
            program: ID,
        },
        instruction::ExecuteTriggerOrder {},
    )
}

/// `markets`: empty to close a position at its reserve cap; every market of the pool with
/// its price to reduce a position under the pool-level profit cap.
pub fn auto_deleverage(k: &KeeperCloseKeys, markets: &[MarketOracle]) -> Instruction {
    with_markets(
        build(
            accounts::AutoDeleverage {
                close: keeper_close(k),
                event_authority: event_authority(),
                program: ID,
            },
            instruction::AutoDeleverage {},
        ),
        markets,
    )
}

pub fn set_trigger_orders(
    owner: &Pubkey,
    market: &Pubkey,
    side: Side,
    take_profit_price: u64,
    stop_loss_price: u64,
) -> Instruction {
    build(
        accounts::SetTriggerOrders {
            owner: *owner,
            market: *market,
            position: pda::position(market, owner, side).0,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::SetTriggerOrders {
            take_profit_price,
            stop_loss_price,
        },
    )
}

pub fn collect_protocol_fees(
    fee_recipient: &Pubkey,
    pool: &Pubkey,
    receiving_account: &Pubkey,
) -> Instruction {
    build(
        accounts::CollectProtocolFees {
            fee_recipient: *fee_recipient,
            config: pda::config().0,
            pool: *pool,
            vault: pda::vault(pool).0,
            receiving_account: *receiving_account,
            token_program: TOKEN_PROGRAM_ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::CollectProtocolFees {},
    )
}
