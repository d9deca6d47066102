//! Protocol, pools, markets and users, built in one call with sane defaults.

use std::collections::HashMap;

use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::get_associated_token_address;
use anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::transaction::TransactionError;
use tidepool::engine::pool_value::PoolValueView;
use tidepool::engine::position::DecreaseOutcome;
use tidepool::instructions::OpenQuote;
use tidepool::state::{MarketParams, PoolParams};
use tidepool::state::{Position, PositionHealth, Side};
use tidepool_client::ix::{self, KeeperCloseKeys, MarketKeys, MarketOracle, PoolKeys};
use tidepool_client::keeper::Action;
use tidepool_client::pda;

use crate::env::{TestEnv, TxResult};
use crate::pyth::{feed_id, usd_e8, PriceState};

pub const USDC: u64 = 1_000_000;

/// The client's default parameters (one definition, used by the CLI too).
pub fn default_pool_params() -> PoolParams {
    tidepool_client::defaults::pool_params()
}

pub fn default_market_params() -> MarketParams {
    tidepool_client::defaults::market_params()
}

pub fn symbol(s: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..s.len()].copy_from_slice(s.as_bytes());
    out
}

/// What pool to build.
#[derive(Clone)]
pub struct PoolSetup {
    pub id: u16,
    pub decimals: u8,
    pub params: PoolParams,
    /// Settlement token price (Pyth, `expo = -8`).
    pub settlement_price: i64,
    pub markets: Vec<MarketSetup>,
}

#[derive(Clone)]
pub struct MarketSetup {
    pub symbol: String,
    /// Index price (Pyth, `expo = -8`).
    pub price: i64,
    pub params: MarketParams,
}

impl MarketSetup {
    pub fn new(symbol: &str, dollars: i64) -> Self {
        Self {
            symbol: symbol.to_string(),
            price: usd_e8(dollars),
            params: default_market_params(),
        }
    }
}

impl Default for PoolSetup {
    /// The client's defaults, except the net-exposure cap: the tests build one-sided books
    /// on small pools to exercise fees, reserves and liquidations; the tests of the cap
    /// itself set it.
    fn default() -> Self {
        Self {
            id: 0,
            decimals: 6,
            params: PoolParams {
                max_net_exposure_bps: 100_000,
                ..default_pool_params()
            },
            settlement_price: usd_e8(1),
            markets: vec![MarketSetup::new("SOL-PERP", 150)],
        }
    }
}

#[derive(Debug, Clone)]
pub struct MarketFixture {
    pub key: Pubkey,
    pub oracle: Pubkey,
    pub feed: [u8; 32],
    pub index: u8,
}

#[derive(Debug, Clone)]
pub struct PoolFixture {
    pub id: u16,
    pub key: Pubkey,
    pub mint: Pubkey,
    pub decimals: u8,
    pub vault: Pubkey,
    pub lp_mint: Pubkey,
    pub settlement_oracle: Pubkey,
    pub settlement_feed: [u8; 32],
    pub markets: Vec<MarketFixture>,
}

impl PoolFixture {
    /// Keys for the client's LP builders and views.
    pub fn keys(&self) -> PoolKeys {
        PoolKeys {
            pool: self.key,
            settlement_mint: self.mint,
            settlement_price_update: self.settlement_oracle,
            markets: self
                .markets
                .iter()
                .map(|m| MarketOracle {
                    market: m.key,
                    price_update: m.oracle,
                })
                .collect(),
        }
    }

    /// Every program-owned or pool-owned account a failed call must leave untouched.
    pub fn watched(&self) -> Vec<Pubkey> {
        let mut keys = vec![pda::config().0, self.key, self.vault, self.lp_mint];
        keys.extend(self.markets.iter().map(|m| m.key));
        keys
    }
}

/// A trader with a settlement token account.
pub struct Trader {
    pub user: Keypair,
    pub token: Pubkey,
}

/// A liquidity provider with a settlement token account and an LP token account.
pub struct Lp {
    pub user: Keypair,
    pub token: Pubkey,
    pub lp_token: Pubkey,
}

/// The protocol initialized, one pool created: what most tests start from.
pub struct Fixture {
    pub env: TestEnv,
    pub admin: Keypair,
    pub fee_recipient: Keypair,
    pub pool: PoolFixture,
    /// Check the SPEC 7 invariants after every successful step (tests: always; the
    /// simulator checks them once per price update instead).
    pub check_every_step: bool,
}

impl Fixture {
    pub async fn new() -> Self {
        Self::with(PoolSetup::default()).await
    }

    pub async fn with(setup: PoolSetup) -> Self {
        Self::with_env(TestEnv::start().await, setup).await
    }

    /// On a runtime already started (e.g. [`TestEnv::start_seeded`]).
    pub async fn with_env(mut env: TestEnv, setup: PoolSetup) -> Self {
        let admin = env.new_user().await;
        env.set_upgrade_authority(&admin.pubkey()).await;
        let fee_recipient = env.new_keypair();
        env.send(
            &[ix::initialize(&admin.pubkey(), &fee_recipient.pubkey())],
            &[&admin],
        )
        .await
        .expect("initialize");
        let pool = create_pool(&mut env, &admin, &setup).await;
        Self {
            env,
            admin,
            fee_recipient,
            pool,
            check_every_step: true,
        }
    }

    pub async fn new_lp(&mut self, tokens: u64) -> Lp {
        new_lp(&mut self.env, &self.pool, tokens).await
    }

    /// Deposit as an LP does now: request, wait the pool's request delay (the oracles keep
    /// publishing), and a keeper executes it. Returns the first failure.
    pub async fn deposit(&mut self, lp: &Lp, amount: u64, min_shares_out: u64) -> TxResult {
        self.request_deposit(lp, amount, min_shares_out).await?;
        self.wait_request_delay().await;
        self.execute_request(lp, &lp.lp_token).await
    }

    /// Withdraw: request, wait, executed by a keeper (see `deposit`).
    pub async fn withdraw(&mut self, lp: &Lp, shares: u64, min_amount_out: u64) -> TxResult {
        self.request_withdrawal(lp, shares, min_amount_out).await?;
        self.wait_request_delay().await;
        self.execute_request(lp, &lp.token).await
    }

    fn track_request(&mut self, lp: &Lp, res: &TxResult) {
        if res.is_ok() {
            let key = pda::lp_request(&self.pool.key, &lp.user.pubkey()).0;
            self.env.lp_requests.insert(key);
        }
    }

    pub async fn request_deposit(&mut self, lp: &Lp, amount: u64, min_shares_out: u64) -> TxResult {
        let ix = ix::deposit_liquidity(
            &lp.user.pubkey(),
            &self.pool.keys(),
            &lp.token,
            &lp.lp_token,
            amount,
            min_shares_out,
        );
        let res = self.env.send(&[ix], &[&lp.user]).await;
        self.track_request(lp, &res);
        self.after_step(&res).await;
        res
    }

    pub async fn request_withdrawal(
        &mut self,
        lp: &Lp,
        shares: u64,
        min_amount_out: u64,
    ) -> TxResult {
        let ix = ix::withdraw_liquidity(
            &lp.user.pubkey(),
            &self.pool.keys(),
            &lp.lp_token,
            &lp.token,
            shares,
            min_amount_out,
        );
        let res = self.env.send(&[ix], &[&lp.user]).await;
        self.track_request(lp, &res);
        self.after_step(&res).await;
        res
    }

    /// Move the clock past the pool's LP request delay, prices re-dated to the new time.
    pub async fn wait_request_delay(&mut self) {
        let pool = self.pool_state().await;
        self.env
            .advance_time(pool.params.lp_request_delay_seconds as i64)
            .await;
    }

    /// The fee payer, as a keeper, executes `lp`'s pending request; `receiver` is the
    /// account the request names.
    pub async fn execute_request(&mut self, lp: &Lp, receiver: &Pubkey) -> TxResult {
        let keeper = self.env.payer();
        let ix =
            ix::execute_liquidity_request(&keeper, &self.pool.keys(), &lp.user.pubkey(), receiver);
        let res = self.env.send(&[ix], &[]).await;
        self.after_step(&res).await;
        res
    }

    /// `lp` cancels its pending request; the refund goes to `refund`.
    pub async fn cancel_request(&mut self, lp: &Lp, refund: &Pubkey) -> TxResult {
        let ix = ix::cancel_liquidity_request(&lp.user.pubkey(), &self.pool.key, refund);
        let res = self.env.send(&[ix], &[&lp.user]).await;
        self.after_step(&res).await;
        res
    }

    /// SPEC 7 after every step that went through.
    pub async fn after_step(&mut self, res: &TxResult) {
        if res.is_ok() && self.check_every_step {
            self.check_invariants().await;
        }
    }

    pub async fn pool_value(&mut self) -> PoolValueView {
        let ix = ix::get_pool_value(&self.pool.keys());
        self.env.view(&[ix], &[]).await.expect("get_pool_value")
    }

    pub async fn pool_state(&mut self) -> tidepool::state::Pool {
        self.env.account(&self.pool.key).await
    }

    pub async fn market_state(&mut self, index: usize) -> tidepool::state::Market {
        let key = self.pool.markets[index].key;
        self.env.account(&key).await
    }

    /// Snapshot of the pool's accounts plus `extra`, for nothing-moved assertions.
    pub async fn snapshot(&mut self, extra: &[Pubkey]) -> crate::env::Snapshot {
        let mut keys = self.pool.watched();
        keys.extend_from_slice(extra);
        self.env.snapshot(&keys).await
    }

    /// Keys of an LP's token accounts.
    pub fn lp_keys(lp: &Lp) -> [Pubkey; 2] {
        [lp.token, lp.lp_token]
    }

    pub async fn check_invariants(&mut self) {
        crate::invariants::check_invariants(&mut self.env, &self.pool).await;
    }

    // ---- trading --------------------------------------------------------------------

    pub fn market_keys(&self, index: usize) -> MarketKeys {
        MarketKeys {
            pool: self.pool.key,
            market: self.pool.markets[index].key,
            price_update: self.pool.markets[index].oracle,
            settlement_price_update: self.pool.settlement_oracle,
        }
    }

    pub async fn new_trader(&mut self, tokens: u64) -> Trader {
        let user = self.env.new_user().await;
        let token = self
            .env
            .create_token_account(&self.pool.mint, &user.pubkey())
            .await;
        if tokens > 0 {
            self.env.mint_to(&self.pool.mint, &token, tokens).await;
        }
        Trader { user, token }
    }

    /// A trader whose settlement tokens sit in their associated token account, where the
    /// keeper crate pays what a keeper's close owes them (the simulator's traders).
    pub async fn new_wallet_trader(&mut self, tokens: u64) -> Trader {
        let user = self.env.new_user().await;
        let token = get_associated_token_address(&user.pubkey(), &self.pool.mint);
        let ix = create_associated_token_account(
            &self.env.payer(),
            &user.pubkey(),
            &self.pool.mint,
            &anchor_spl::token::ID,
        );
        self.env.send(&[ix], &[]).await.expect("create the ATA");
        if tokens > 0 {
            self.env.mint_to(&self.pool.mint, &token, tokens).await;
        }
        Trader { user, token }
    }

    pub fn position_key(&self, trader: &Trader, side: Side) -> Pubkey {
        self.position_key_on(0, trader, side)
    }

    /// The position PDA of `trader` on market `market`.
    pub fn position_key_on(&self, market: usize, trader: &Trader, side: Side) -> Pubkey {
        // A PDA search costs a few curve checks; the simulator asks thousands of times.
        type Keys = HashMap<(Pubkey, Pubkey, u8), Pubkey>;
        static KEYS: std::sync::Mutex<Option<Keys>> = std::sync::Mutex::new(None);
        let m = self.market_keys(market);
        let owner = trader.user.pubkey();
        *KEYS
            .lock()
            .expect("position keys")
            .get_or_insert_with(HashMap::new)
            .entry((m.market, owner, side.seed()))
            .or_insert_with(|| m.position(&owner, side))
    }

    /// Open or increase on market 0, accepting any price.
    pub async fn open(
        &mut self,
        t: &Trader,
        side: Side,
        size_usd: u64,
        collateral: u64,
    ) -> TxResult {
        let any = if side.is_long() { u64::MAX } else { 0 };
        self.open_at(t, side, size_usd, collateral, any).await
    }

    pub async fn open_at(
        &mut self,
        t: &Trader,
        side: Side,
        size_usd: u64,
        collateral: u64,
        acceptable_price: u64,
    ) -> TxResult {
        self.open_at_on(0, t, side, size_usd, collateral, acceptable_price)
            .await
    }

    /// Open or increase on market `market`, accepting any price.
    pub async fn open_on(
        &mut self,
        market: usize,
        t: &Trader,
        side: Side,
        size_usd: u64,
        collateral: u64,
    ) -> TxResult {
        let any = if side.is_long() { u64::MAX } else { 0 };
        self.open_at_on(market, t, side, size_usd, collateral, any)
            .await
    }

    pub async fn open_at_on(
        &mut self,
        market: usize,
        t: &Trader,
        side: Side,
        size_usd: u64,
        collateral: u64,
        acceptable_price: u64,
    ) -> TxResult {
        let ixn = ix::open_position(
            &t.user.pubkey(),
            &self.market_keys(market),
            &t.token,
            side,
            size_usd,
            collateral,
            acceptable_price,
        );
        let res = self.env.send(&[ixn], &[&t.user]).await;
        if res.is_ok() {
            let key = self.position_key_on(market, t, side);
            self.env.positions.insert(key);
        }
        self.after_step(&res).await;
        res
    }

    /// Decrease on market 0 with no price or payout bound.
    pub async fn decrease(&mut self, t: &Trader, side: Side, size_usd: u64) -> TxResult {
        let any = if side.is_long() { 0 } else { u64::MAX };
        self.decrease_at(t, side, size_usd, any, 0).await
    }

    pub async fn decrease_at(
        &mut self,
        t: &Trader,
        side: Side,
        size_usd: u64,
        acceptable_price: u64,
        min_amount_out: u64,
    ) -> TxResult {
        self.decrease_at_on(0, t, side, size_usd, acceptable_price, min_amount_out)
            .await
    }

    /// Decrease on market `market` with no price or payout bound.
    pub async fn decrease_on(
        &mut self,
        market: usize,
        t: &Trader,
        side: Side,
        size_usd: u64,
    ) -> TxResult {
        let any = if side.is_long() { 0 } else { u64::MAX };
        self.decrease_at_on(market, t, side, size_usd, any, 0).await
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn decrease_at_on(
        &mut self,
        market: usize,
        t: &Trader,
        side: Side,
        size_usd: u64,
        acceptable_price: u64,
        min_amount_out: u64,
    ) -> TxResult {
        let ixn = ix::decrease_position(
            &t.user.pubkey(),
            &self.market_keys(market),
            side,
            &t.token,
            size_usd,
            acceptable_price,
            min_amount_out,
        );
        let res = self.env.send(&[ixn], &[&t.user]).await;
        self.after_step(&res).await;
        res
    }

    pub async fn add_collateral(&mut self, t: &Trader, side: Side, amount: u64) -> TxResult {
        let ixn = ix::add_collateral(
            &t.user.pubkey(),
            &self.market_keys(0),
            side,
            &t.token,
            amount,
        );
        let res = self.env.send(&[ixn], &[&t.user]).await;
        self.after_step(&res).await;
        res
    }

    pub async fn remove_collateral(&mut self, t: &Trader, side: Side, amount: u64) -> TxResult {
        let ixn = ix::remove_collateral(
            &t.user.pubkey(),
            &self.market_keys(0),
            side,
            &t.token,
            amount,
        );
        let res = self.env.send(&[ixn], &[&t.user]).await;
        self.after_step(&res).await;
        res
    }

    pub async fn position(&mut self, t: &Trader, side: Side) -> Option<Position> {
        self.position_on(0, t, side).await
    }

    /// `t`'s position on market `market`, if open.
    pub async fn position_on(&mut self, market: usize, t: &Trader, side: Side) -> Option<Position> {
        let key = self.position_key_on(market, t, side);
        self.env.account_if(&key).await
    }

    pub async fn health(&mut self, t: &Trader, side: Side) -> PositionHealth {
        let key = self.position_key(t, side);
        let ixn = ix::get_position_health(&self.market_keys(0), &key);
        self.env
            .view(&[ixn], &[])
            .await
            .expect("get_position_health")
    }

    pub async fn quote_open(
        &mut self,
        side: Side,
        size_usd: u64,
        collateral: u64,
    ) -> Result<OpenQuote, TransactionError> {
        self.quote_open_on(0, side, size_usd, collateral).await
    }

    pub async fn quote_open_on(
        &mut self,
        market: usize,
        side: Side,
        size_usd: u64,
        collateral: u64,
    ) -> Result<OpenQuote, TransactionError> {
        let ixn =
            ix::quote_open_position(&self.market_keys(market), None, side, size_usd, collateral);
        self.env.view(&[ixn], &[]).await
    }

    pub async fn quote_decrease(
        &mut self,
        t: &Trader,
        side: Side,
        size_usd: u64,
    ) -> Result<DecreaseOutcome, TransactionError> {
        let key = self.position_key(t, side);
        let ixn = ix::quote_decrease_position(&self.market_keys(0), &key, size_usd);
        self.env.view(&[ixn], &[]).await
    }

    /// Move market `index`'s oracle to `price` (Pyth `expo = -8`), EMA included, dated now.
    pub async fn set_market_price(&mut self, index: usize, price: i64) {
        let now = self.env.now().await;
        let oracle = self.pool.markets[index].oracle;
        self.env.update_price(&oracle, |p| {
            p.price = price;
            p.ema_price = price;
            p.conf = (price.unsigned_abs() / 2_000).max(1);
            p.publish_time = now;
        });
    }

    // ---- keepers --------------------------------------------------------------------

    /// A keeper: a funded signer with a settlement token account for its fees.
    pub async fn new_keeper(&mut self) -> Trader {
        self.new_trader(0).await
    }

    pub fn keeper_keys(&self, keeper: &Trader, t: &Trader, side: Side) -> KeeperCloseKeys {
        self.keeper_keys_on(0, keeper, t, side)
    }

    pub fn keeper_keys_on(
        &self,
        market: usize,
        keeper: &Trader,
        t: &Trader,
        side: Side,
    ) -> KeeperCloseKeys {
        KeeperCloseKeys {
            keeper: keeper.user.pubkey(),
            market: self.market_keys(market),
            position: self.position_key_on(market, t, side),
            owner: t.user.pubkey(),
            owner_token_account: t.token,
            keeper_token_account: keeper.token,
        }
    }

    async fn keeper_send(&mut self, keeper: &Trader, ixn: Instruction) -> TxResult {
        let res = self.env.send(&[ixn], &[&keeper.user]).await;
        self.after_step(&res).await;
        res
    }

    pub async fn liquidate(&mut self, keeper: &Trader, t: &Trader, side: Side) -> TxResult {
        self.liquidate_on(0, keeper, t, side).await
    }

    pub async fn liquidate_on(
        &mut self,
        market: usize,
        keeper: &Trader,
        t: &Trader,
        side: Side,
    ) -> TxResult {
        let ixn = ix::liquidate(&self.keeper_keys_on(market, keeper, t, side));
        self.keeper_send(keeper, ixn).await
    }

    pub async fn execute_trigger(&mut self, keeper: &Trader, t: &Trader, side: Side) -> TxResult {
        self.execute_trigger_on(0, keeper, t, side).await
    }

    pub async fn execute_trigger_on(
        &mut self,
        market: usize,
        keeper: &Trader,
        t: &Trader,
        side: Side,
    ) -> TxResult {
        let ixn = ix::execute_trigger_order(&self.keeper_keys_on(market, keeper, t, side));
        self.keeper_send(keeper, ixn).await
    }

    /// Carry out a keeper's `action` on `t`'s position on `market`, with the instruction
    /// the keeper crate builds for it (`Action::instruction`); `None` for `Action::None`.
    pub async fn keeper_action_on(
        &mut self,
        market: usize,
        keeper: &Trader,
        t: &Trader,
        side: Side,
        action: Action,
    ) -> Option<TxResult> {
        let keys = self.keeper_keys_on(market, keeper, t, side);
        let ixn = action.instruction(&keys, &self.pool.keys().markets)?;
        Some(self.keeper_send(keeper, ixn).await)
    }

    pub async fn deleverage(
        &mut self,
        keeper: &Trader,
        t: &Trader,
        side: Side,
        cap: AdlCap,
    ) -> TxResult {
        self.deleverage_on(0, keeper, t, side, cap).await
    }

    pub async fn deleverage_on(
        &mut self,
        market: usize,
        keeper: &Trader,
        t: &Trader,
        side: Side,
        cap: AdlCap,
    ) -> TxResult {
        let action = match cap {
            AdlCap::PositionReserve => Action::DeleverageAtCap,
            AdlCap::PoolProfit => Action::DeleverageOverPnlCap,
        };
        self.keeper_action_on(market, keeper, t, side, action)
            .await
            .expect("a deleveraging is an action")
    }

    pub async fn set_triggers(
        &mut self,
        t: &Trader,
        side: Side,
        take_profit: u64,
        stop_loss: u64,
    ) -> TxResult {
        self.set_triggers_on(0, t, side, take_profit, stop_loss)
            .await
    }

    pub async fn set_triggers_on(
        &mut self,
        market: usize,
        t: &Trader,
        side: Side,
        take_profit: u64,
        stop_loss: u64,
    ) -> TxResult {
        let market = self.pool.markets[market].key;
        let ixn = ix::set_trigger_orders(&t.user.pubkey(), &market, side, take_profit, stop_loss);
        self.env.send(&[ixn], &[&t.user]).await
    }

    /// Zero confidence on every oracle of the pool: fills are spot ± the base spread and
    /// every USD/token conversion is exact, so tests can state amounts to the unit.
    pub fn zero_confidence(&mut self) {
        let mut oracles = vec![self.pool.settlement_oracle];
        oracles.extend(self.pool.markets.iter().map(|m| m.oracle));
        for oracle in oracles {
            self.env.update_price(&oracle, |p| p.conf = 0);
        }
    }

    /// A funded pool: one LP depositing `amount`.
    pub async fn seed_liquidity(&mut self, amount: u64) -> Lp {
        let lp = self.new_lp(amount).await;
        self.deposit(&lp, amount, 0).await.expect("seed deposit");
        lp
    }
}

/// Create a pool with its settlement mint, its oracles and its markets.
pub async fn create_pool(env: &mut TestEnv, admin: &Keypair, setup: &PoolSetup) -> PoolFixture {
    let now = env.now().await;
    let mint = env.create_mint(setup.decimals).await;
    let key = pda::pool(setup.id).0;
    let settlement_feed = feed_id(setup.id * 100);
    let settlement_oracle = env.new_address();
    env.set_price(
        &settlement_oracle,
        PriceState::new(settlement_feed, setup.settlement_price, now),
    );
    env.send(
        &[ix::create_pool(
            &admin.pubkey(),
            setup.id,
            &mint,
            settlement_feed,
            setup.params,
        )],
        &[admin],
    )
    .await
    .expect("create_pool");
    let mut markets = Vec::new();
    for (i, m) in setup.markets.iter().enumerate() {
        let index = i as u8;
        let feed = feed_id(setup.id * 100 + 1 + i as u16);
        let oracle = env.new_address();
        env.set_price(&oracle, PriceState::new(feed, m.price, now));
        env.send(
            &[ix::create_market(
                &admin.pubkey(),
                &key,
                index,
                symbol(&m.symbol),
                feed,
                m.params,
            )],
            &[admin],
        )
        .await
        .expect("create_market");
        markets.push(MarketFixture {
            key: pda::market(&key, index).0,
            oracle,
            feed,
            index,
        });
    }
    PoolFixture {
        id: setup.id,
        key,
        mint,
        decimals: setup.decimals,
        vault: pda::vault(&key).0,
        lp_mint: pda::lp_mint(&key).0,
        settlement_oracle,
        settlement_feed,
        markets,
    }
}

/// A new LP holding `tokens` settlement base units and an empty LP token account.
pub async fn new_lp(env: &mut TestEnv, pool: &PoolFixture, tokens: u64) -> Lp {
    let user = env.new_user().await;
    let token = env.create_token_account(&pool.mint, &user.pubkey()).await;
    if tokens > 0 {
        env.mint_to(&pool.mint, &token, tokens).await;
    }
    let lp_token = env
        .create_token_account(&pool.lp_mint, &user.pubkey())
        .await;
    Lp {
        user,
        token,
        lp_token,
    }
}

/// Which cap an auto-deleveraging is asked under: the position's own reserve (no market
/// accounts passed) or the pool's profit cap (every market of the pool passed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdlCap {
    PositionReserve,
    PoolProfit,
}
