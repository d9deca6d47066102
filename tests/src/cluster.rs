//! The embedded runtime as a [`Cluster`]: the keeper crate's engine runs here unchanged, in
//! the keeper's tests and as the simulator's keeper.

use std::collections::HashMap;

use anchor_lang::prelude::Pubkey;
use solana_sdk::account::Account;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::{Keypair, Signer};
use tidepool_client::defaults::COMPUTE_UNIT_LIMIT;
use tidepool_keeper::{Cluster, KeeperConfig, SendError};

use crate::{custom_error_code, Fixture, TxResult};

/// A keeper's configuration for the fixture's pool: its price accounts by feed.
pub fn keeper_config(f: &Fixture) -> KeeperConfig {
    let mut price_accounts = HashMap::new();
    price_accounts.insert(f.pool.settlement_feed, f.pool.settlement_oracle);
    for m in &f.pool.markets {
        price_accounts.insert(m.feed, m.oracle);
    }
    KeeperConfig {
        price_accounts,
        compute_unit_limit: COMPUTE_UNIT_LIMIT,
        ..KeeperConfig::default()
    }
}

/// Every account a keeper reads, as it was at one moment: the program's accounts and the
/// price accounts.
#[derive(Clone, Debug, Default)]
pub struct ChainView {
    program: Vec<(Pubkey, Account)>,
    prices: HashMap<Pubkey, Account>,
}

impl ChainView {
    /// What a keeper would read from `f` now.
    pub fn of(f: &Fixture) -> Self {
        Self {
            program: f.env.rt.program_accounts(&tidepool::ID),
            prices: f
                .env
                .prices
                .keys()
                .filter_map(|k| Some((*k, f.env.rt.account(k)?)))
                .collect(),
        }
    }

    fn get(&self, key: &Pubkey) -> Option<Account> {
        match self.program.iter().find(|(k, _)| k == key) {
            Some((_, a)) => Some(a.clone()),
            None => self.prices.get(key).cloned(),
        }
    }
}

/// The harness runtime as the keeper's cluster. `program_accounts` scans the runtime's
/// accounts as `getProgramAccounts` does (owner and discriminator, in key order). With a
/// frozen [`ChainView`], reads come from it (a keeper acting on a stale view) while sends
/// go to the live runtime.
pub struct InProcess<'a> {
    pub f: &'a mut Fixture,
    keeper: Keypair,
    frozen: Option<ChainView>,
    /// The program's accounts as of the first read since the last send (a pass reads every
    /// type before it sends anything: one scan of the runtime instead of one per type).
    program: Option<Vec<(Pubkey, Account)>>,
    /// How the runtime answered the last transaction sent (its events are in
    /// `f.env.last_inner` when it went through).
    pub last: Option<TxResult>,
}

impl<'a> InProcess<'a> {
    pub fn new(f: &'a mut Fixture, keeper: Keypair) -> Self {
        Self {
            f,
            keeper,
            frozen: None,
            program: None,
            last: None,
        }
    }

    /// A cluster that reads `view` and sends to the live runtime.
    pub fn frozen(f: &'a mut Fixture, keeper: Keypair, view: ChainView) -> Self {
        Self {
            frozen: Some(view),
            ..Self::new(f, keeper)
        }
    }

    fn read(&self, key: &Pubkey) -> Option<Account> {
        match &self.frozen {
            Some(view) => view.get(key),
            None => self.f.env.rt.account(key),
        }
        .filter(|a| a.lamports > 0)
    }
}

impl Cluster for InProcess<'_> {
    async fn program_accounts(
        &mut self,
        discriminator: &[u8],
    ) -> Result<Vec<(Pubkey, Vec<u8>)>, String> {
        let program = match &mut self.program {
            Some(program) => program,
            none => none.insert(match &self.frozen {
                Some(view) => view.program.clone(),
                None => self.f.env.rt.program_accounts(&tidepool::ID),
            }),
        };
        Ok(program
            .iter()
            .filter(|(_, a)| a.data.starts_with(discriminator))
            .map(|(k, a)| (*k, a.data.clone()))
            .collect())
    }

    async fn account_data(&mut self, key: &Pubkey) -> Result<Option<Vec<u8>>, String> {
        Ok(self.read(key).map(|a| a.data))
    }

    async fn unix_time(&mut self) -> Result<i64, String> {
        Ok(self.f.env.now().await)
    }

    async fn send(&mut self, instructions: &[Instruction]) -> Result<(), SendError> {
        let keeper = self.keeper.pubkey();
        let signs = instructions.iter().any(|ix| {
            ix.accounts
                .iter()
                .any(|a| a.is_signer && a.pubkey == keeper)
        });
        let signers: Vec<&Keypair> = if signs { vec![&self.keeper] } else { vec![] };
        self.program = None;
        let res = self.f.env.send(instructions, &signers).await;
        let out = match &res {
            Ok(()) => Ok(()),
            Err(e) => match custom_error_code(&res) {
                Some(code) => Err(SendError::Program(code)),
                None => Err(SendError::Other(e.to_string())),
            },
        };
        self.last = Some(res);
        out
    }

    fn keeper(&self) -> Pubkey {
        self.keeper.pubkey()
    }
}
