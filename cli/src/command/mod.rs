//! The commands, one module per group, and what they share: reading accounts, sending
//! transactions (through [`Config::transaction`]) and simulating the program's views.

pub mod admin;
pub mod lp;
pub mod trade;
pub mod view;

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AccountDeserialize, AnchorDeserialize};
use base64::Engine;
use clap::{Args, ValueEnum};
use solana_sdk::instruction::{Instruction, InstructionError};
use solana_sdk::signature::Signer;
use solana_sdk::transaction::{Transaction, TransactionError};
use tidepool::math::{PRICE_DECIMALS, USD_DECIMALS};
use tidepool::state::{Market, Pool, Side};
use tidepool_client::errors::describe;
use tidepool_client::ix::{MarketKeys, MarketOracle, PoolKeys};
use tidepool_client::pda;

use crate::config::Config;
use crate::output::CliTransaction;
use crate::units::parse_decimal;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SideArg {
    Long,
    Short,
}

impl From<SideArg> for Side {
    fn from(s: SideArg) -> Side {
        match s {
            SideArg::Long => Side::Long,
            SideArg::Short => Side::Short,
        }
    }
}

/// Which position: pool, market index and side.
#[derive(Args, Debug)]
pub struct PositionTarget {
    #[arg(long)]
    pub pool_id: u16,
    #[arg(long, default_value_t = 0)]
    pub market: u8,
    #[arg(long, value_enum)]
    pub side: SideArg,
}

pub fn usd(s: &str) -> Result<u64, String> {
    parse_decimal(s, USD_DECIMALS)
}

pub fn price(s: &str) -> Result<u64, String> {
    parse_decimal(s, PRICE_DECIMALS)
}

impl Config {
    pub async fn account<T: AccountDeserialize>(
        &self,
        key: &Pubkey,
        what: &str,
    ) -> Result<T, String> {
        let acc = self
            .rpc
            .get_account(key)
            .await
            .map_err(|e| format!("cannot fetch {what} {key}: {e}"))?;
        T::try_deserialize(&mut &acc.data[..]).map_err(|e| format!("{what} {key}: {e}"))
    }

    /// A pool, and the keys its instructions take (markets with their price accounts).
    pub async fn pool(&self, pool_id: u16) -> Result<(Pubkey, Pool, PoolKeys), String> {
        let key = pda::pool(pool_id).0;
        let pool: Pool = self.account(&key, "pool").await?;
        let mut markets = Vec::new();
        for m in pool.markets() {
            let market: Market = self.account(m, "market").await?;
            markets.push(MarketOracle {
                market: *m,
                price_update: self.price_account(&market.feed_id),
            });
        }
        let keys = PoolKeys {
            pool: key,
            settlement_mint: pool.settlement_mint,
            settlement_price_update: self.price_account(&pool.settlement_feed_id),
            markets,
        };
        Ok((key, pool, keys))
    }

    pub async fn market_keys(
        &self,
        pool_id: u16,
        index: u8,
    ) -> Result<(Pool, Market, MarketKeys), String> {
        let (pool_key, pool, keys) = self.pool(pool_id).await?;
        let market_key = pda::market(&pool_key, index).0;
        let market: Market = self.account(&market_key, "market").await?;
        let m = MarketKeys {
            pool: pool_key,
            market: market_key,
            price_update: self.price_account(&market.feed_id),
            settlement_price_update: keys.settlement_price_update,
        };
        Ok((pool, market, m))
    }

    /// Send and confirm `instructions` after the compute budget; program errors by name.
    pub async fn send(&self, instructions: Vec<Instruction>) -> Result<String, String> {
        let blockhash = self
            .rpc
            .get_latest_blockhash()
            .await
            .map_err(|e| e.to_string())?;
        let tx = self.transaction(instructions, blockhash)?;
        match self.rpc.send_and_confirm_transaction(&tx).await {
            Ok(sig) => Ok(sig.to_string()),
            Err(e) => Err(match e.get_transaction_error() {
                Some(TransactionError::InstructionError(_, InstructionError::Custom(code))) => {
                    describe(code)
                }
                _ => e.to_string(),
            }),
        }
    }

    /// Simulate one of the program's view instructions and decode what it returns.
    pub async fn view<T: AnchorDeserialize>(&self, instruction: Instruction) -> Result<T, String> {
        let blockhash = self
            .rpc
            .get_latest_blockhash()
            .await
            .map_err(|e| e.to_string())?;
        let tx = Transaction::new_signed_with_payer(
            &[instruction],
            Some(&self.signer.pubkey()),
            &[self.signer.as_ref()],
            blockhash,
        );
        let sim = self
            .rpc
            .simulate_transaction(&tx)
            .await
            .map_err(|e| e.to_string())?
            .value;
        if let Some(e) = sim.err {
            return Err(match TransactionError::from(e) {
                TransactionError::InstructionError(_, InstructionError::Custom(code)) => {
                    describe(code)
                }
                other => other.to_string(),
            });
        }
        let data = sim.return_data.ok_or("the view returned nothing")?.data.0;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| e.to_string())?;
        T::try_from_slice(&bytes).map_err(|e| e.to_string())
    }

    /// Print a sent transaction in the output format.
    pub fn done(&self, action: &'static str, signature: &str, details: serde_json::Value) {
        let out = CliTransaction {
            action,
            signature: signature.to_string(),
            details,
        };
        println!("{}", self.output.formatted(&out));
    }
}
