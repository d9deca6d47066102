//! The runtime (tidepool-runtime, on LiteSVM): clock control, token helpers, transaction helpers
//! and error assertions.

use std::collections::HashMap;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_lang::{AccountDeserialize, AnchorDeserialize};
use anchor_spl::token::spl_token;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_sdk::account::Account;
use solana_sdk::account_info::AccountInfo;
use solana_sdk::clock::Clock;
use solana_sdk::entrypoint::ProgramResult;
use solana_sdk::instruction::{Instruction, InstructionError};
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::transaction::{Transaction, TransactionError};
use solana_system_interface::instruction as system_instruction;
use tidepool::error::TidepoolError;
use tidepool_runtime::{ProgramKind, Runtime, TxError};

use crate::pyth::PriceState;

/// The program's entry as a plain builtin. Anchor's `entry` ties every argument to one
/// `'info` lifetime, which the builtin signature cannot name; the runtime keeps the
/// accounts alive for the whole call, so widening the lifetimes is sound here.
fn process_instruction(
    program_id: &Pubkey,
    accounts: &[AccountInfo],
    data: &[u8],
) -> ProgramResult {
    let accounts: &[AccountInfo] = unsafe { std::mem::transmute(accounts) };
    let program_id: &Pubkey = unsafe { std::mem::transmute(program_id) };
    let data: &[u8] = unsafe { std::mem::transmute(data) };
    tidepool::entry(program_id, accounts, data)
}

/// A runtime with Tidepool: the compiled `tidepool.so` when `SBF_OUT_DIR` (or
/// `BPF_OUT_DIR`) holds one, else the program natively as a builtin.
pub fn runtime() -> (Runtime, ProgramKind) {
    let mut rt = Runtime::new();
    let kind = rt.add_program(tidepool::ID, "tidepool", process_instruction);
    (rt, kind)
}

/// A failed transaction: the runtime's error and the program log.
pub type TxResult = Result<(), TxError>;

/// A running runtime with helpers. Tests own it mutably.
pub struct TestEnv {
    pub rt: Runtime,
    /// Mint authority of every test mint.
    pub mint_authority: Keypair,
    /// Current content of every Pyth price account the harness made.
    pub prices: HashMap<Pubkey, PriceState>,
    /// Tokens sent to vaults outside the program (donations), per vault.
    pub donations: HashMap<Pubkey, u64>,
    /// Every position account a test opened (closed ones are simply gone).
    pub positions: std::collections::BTreeSet<Pubkey>,
    /// Every LP request account a test made (executed or cancelled ones are gone).
    pub lp_requests: std::collections::BTreeSet<Pubkey>,
    /// Inner-instruction data of the last transaction `send` got through, where the
    /// program's `emit_cpi!` events are (read them with [`decode_events`]).
    pub last_inner: Vec<Vec<u8>>,
    /// `Some((seed, n))`: every keypair the harness makes is derived from the seed and a
    /// counter (see [`TestEnv::new_keypair`]), so a run's addresses repeat exactly.
    key_seed: Option<(u64, u64)>,
}

impl TestEnv {
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// A runtime whose every keypair (fee payer, mint authority, mints, token accounts,
    /// users, price accounts) derives from `seed`: two runs with one seed make the same
    /// accounts at the same addresses (and the same PDA bump searches).
    pub async fn start_seeded(seed: u64) -> Self {
        Self::start_with(Some(seed)).await
    }

    async fn start_with(seed: Option<u64>) -> Self {
        let (rt, _) = runtime();
        let mut env = Self {
            rt,
            mint_authority: Keypair::new(),
            prices: HashMap::new(),
            donations: HashMap::new(),
            positions: Default::default(),
            lp_requests: Default::default(),
            last_inner: Vec::new(),
            key_seed: seed.map(|s| (s, 0)),
        };
        if env.key_seed.is_some() {
            let payer = env.new_keypair();
            env.rt.set_payer(payer);
            env.mint_authority = env.new_keypair();
        }
        // A round start time makes timings readable.
        env.set_time(1_700_000_000).await;
        env
    }

    /// A new keypair: random, or the next one derived from the seed of
    /// [`TestEnv::start_seeded`].
    pub fn new_keypair(&mut self) -> Keypair {
        let Some((seed, n)) = self.key_seed.as_mut() else {
            return Keypair::new();
        };
        *n += 1;
        let mut secret = [0u8; 32];
        secret[..8].copy_from_slice(b"tidepool");
        secret[8..16].copy_from_slice(&seed.to_le_bytes());
        secret[16..24].copy_from_slice(&n.to_le_bytes());
        Keypair::new_from_array(secret)
    }

    /// A new address for an account the harness writes itself (a price account): unique
    /// in the process, or derived from the seed.
    pub fn new_address(&mut self) -> Pubkey {
        if self.key_seed.is_some() {
            self.new_keypair().pubkey()
        } else {
            Pubkey::new_unique()
        }
    }

    pub fn payer(&self) -> Pubkey {
        self.rt.payer().pubkey()
    }

    // ---- transactions -------------------------------------------------------------

    fn transaction(&self, ixs: &[Instruction], signers: &[&Keypair]) -> Transaction {
        // A compute-budget instruction, as real clients send. (Callers that bring their
        // own, like the keeper, keep them: the runtime refuses a transaction with two.)
        // Repeats need no nonce: the runtime keeps no signature history to dedup against.
        let budget = solana_compute_budget_interface::ID;
        let mut all = Vec::with_capacity(ixs.len() + 1);
        if !ixs.iter().any(|ix| ix.program_id == budget) {
            all.push(ComputeBudgetInstruction::set_compute_unit_limit(1_400_000));
        }
        all.extend_from_slice(ixs);
        self.rt.sign(&all, signers)
    }

    /// Send one transaction; `signers` are the signers besides the fee payer.
    pub async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> TxResult {
        let tx = self.transaction(ixs, signers);
        // What the program notes of a math failure in this transaction (native runs).
        tidepool::math::clear_last_failure();
        let meta = self.rt.send(tx)?;
        self.last_inner.clear();
        self.last_inner.extend(
            meta.inner_instructions
                .into_iter()
                .flatten()
                .map(|i| i.instruction.data),
        );
        Ok(())
    }

    /// Simulate a view and decode its return data.
    pub async fn view<T: AnchorDeserialize>(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<T, TransactionError> {
        let tx = self.transaction(ixs, signers);
        let meta = self.rt.simulate(tx).map_err(|e| e.err)?;
        Ok(T::try_from_slice(&meta.return_data.data).expect("return data decodes"))
    }

    /// Simulate and return the inner instructions' data (where `emit_cpi!` events live).
    pub async fn simulate_inner_data(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Vec<Vec<u8>> {
        let tx = self.transaction(ixs, signers);
        let meta = self
            .rt
            .simulate(tx)
            .unwrap_or_else(|e| panic!("simulation failed: {e:?}"));
        meta.inner_instructions
            .into_iter()
            .flatten()
            .map(|i| i.instruction.data)
            .collect()
    }

    // ---- clock --------------------------------------------------------------------

    pub async fn clock(&mut self) -> Clock {
        self.rt.clock()
    }

    pub async fn now(&mut self) -> i64 {
        self.clock().await.unix_timestamp
    }

    pub async fn set_time(&mut self, unix_timestamp: i64) {
        let mut clock = self.clock().await;
        clock.unix_timestamp = unix_timestamp;
        self.rt.set_clock(&clock);
    }

    /// Move the clock forward and re-date every price account to the new time, as if the
    /// oracles kept publishing.
    pub async fn advance_time(&mut self, seconds: i64) {
        let now = self.now().await + seconds;
        self.set_time(now).await;
        let keys: Vec<Pubkey> = self.prices.keys().copied().collect();
        for key in keys {
            self.update_price(&key, |p| p.publish_time = now);
        }
    }

    // ---- accounts -----------------------------------------------------------------

    pub async fn raw_account(&mut self, key: &Pubkey) -> Option<Account> {
        self.rt.account(key)
    }

    pub async fn account<T: AccountDeserialize>(&mut self, key: &Pubkey) -> T {
        let acc = self
            .raw_account(key)
            .await
            .unwrap_or_else(|| panic!("account {key} exists"));
        T::try_deserialize(&mut &acc.data[..]).expect("account decodes")
    }

    /// The account at `key` decoded, or `None` when there is none (a closed account).
    pub async fn account_if<T: AccountDeserialize>(&mut self, key: &Pubkey) -> Option<T> {
        let acc = self.raw_account(key).await.filter(|a| a.lamports > 0)?;
        Some(T::try_deserialize(&mut &acc.data[..]).expect("account decodes"))
    }

    pub fn set_account(&mut self, key: &Pubkey, account: Account) {
        self.rt.set_account(key, account);
    }

    /// Overwrite the data of an existing program account with `value` (same size, same
    /// lamports). For tests that need a state no instruction of this slice can reach yet.
    pub async fn write_account<T: anchor_lang::AccountSerialize>(
        &mut self,
        key: &Pubkey,
        value: &T,
    ) {
        let mut acc = self.raw_account(key).await.expect("account exists");
        let mut data = Vec::with_capacity(acc.data.len());
        value.try_serialize(&mut data).expect("serializes");
        assert_eq!(data.len(), acc.data.len(), "layout size");
        acc.data = data;
        self.set_account(key, acc);
    }

    /// Create (or overwrite) a Pyth price account.
    pub fn set_price(&mut self, key: &Pubkey, state: PriceState) {
        self.prices.insert(*key, state);
        self.set_account(key, state.to_account());
    }

    /// Change a Pyth price account in place.
    pub fn update_price(&mut self, key: &Pubkey, f: impl FnOnce(&mut PriceState)) {
        let mut state = *self.prices.get(key).expect("known price account");
        f(&mut state);
        self.set_price(key, state);
    }

    /// Make `authority` the program's upgrade authority (what `initialize` checks). On the
    /// SBF build the loader's ProgramData account exists and only its authority changes;
    /// natively there is none, so the harness writes its 45-byte header.
    pub async fn set_upgrade_authority(&mut self, authority: &Pubkey) {
        use anchor_lang::solana_program::bpf_loader_upgradeable;
        let key = tidepool_client::pda::program_data();
        // UpgradeableLoaderState::ProgramData { slot, upgrade_authority_address }: u32 tag 3,
        // u64 slot, Option<Pubkey>.
        let mut header = Vec::with_capacity(45);
        header.extend_from_slice(&3u32.to_le_bytes());
        header.extend_from_slice(&0u64.to_le_bytes());
        header.push(1);
        header.extend_from_slice(authority.as_ref());
        let account = match self.raw_account(&key).await {
            Some(mut acc) => {
                acc.data[..45].copy_from_slice(&header);
                acc
            }
            None => Account {
                lamports: 1_000_000_000,
                data: header,
                owner: bpf_loader_upgradeable::ID,
                executable: false,
                rent_epoch: 0,
            },
        };
        self.set_account(&key, account);
    }

    /// A fresh keypair with SOL for rent and fees.
    pub async fn new_user(&mut self) -> Keypair {
        let user = self.new_keypair();
        let ix = system_instruction::transfer(&self.payer(), &user.pubkey(), 10_000_000_000);
        self.send(&[ix], &[]).await.expect("fund user");
        user
    }

    // ---- tokens -------------------------------------------------------------------

    pub async fn create_mint(&mut self, decimals: u8) -> Pubkey {
        let mint = self.new_keypair();
        let rent = self.rt.rent();
        let ixs = [
            system_instruction::create_account(
                &self.payer(),
                &mint.pubkey(),
                rent.minimum_balance(spl_token::state::Mint::LEN),
                spl_token::state::Mint::LEN as u64,
                &spl_token::ID,
            ),
            spl_token::instruction::initialize_mint2(
                &spl_token::ID,
                &mint.pubkey(),
                &self.mint_authority.pubkey(),
                None,
                decimals,
            )
            .unwrap(),
        ];
        self.send(&ixs, &[&mint]).await.expect("create mint");
        mint.pubkey()
    }

    pub async fn create_token_account(&mut self, mint: &Pubkey, owner: &Pubkey) -> Pubkey {
        let account = self.new_keypair();
        let rent = self.rt.rent();
        let ixs = [
            system_instruction::create_account(
                &self.payer(),
                &account.pubkey(),
                rent.minimum_balance(spl_token::state::Account::LEN),
                spl_token::state::Account::LEN as u64,
                &spl_token::ID,
            ),
            spl_token::instruction::initialize_account3(
                &spl_token::ID,
                &account.pubkey(),
                mint,
                owner,
            )
            .unwrap(),
        ];
        self.send(&ixs, &[&account])
            .await
            .expect("create token account");
        account.pubkey()
    }

    pub async fn mint_to(&mut self, mint: &Pubkey, account: &Pubkey, amount: u64) {
        let ix = spl_token::instruction::mint_to(
            &spl_token::ID,
            mint,
            account,
            &self.mint_authority.pubkey(),
            &[],
            amount,
        )
        .unwrap();
        let authority = self.mint_authority.insecure_clone();
        self.send(&[ix], &[&authority]).await.expect("mint to");
    }

    /// Transfer tokens between accounts owned by `owner`'s signature.
    pub async fn transfer_tokens(
        &mut self,
        from: &Pubkey,
        to: &Pubkey,
        owner: &Keypair,
        amount: u64,
    ) -> TxResult {
        let ix = spl_token::instruction::transfer(
            &spl_token::ID,
            from,
            to,
            &owner.pubkey(),
            &[],
            amount,
        )
        .unwrap();
        self.send(&[ix], &[owner]).await
    }

    pub async fn token_balance(&mut self, account: &Pubkey) -> u64 {
        let acc = self.raw_account(account).await.expect("token account");
        spl_token::state::Account::unpack(&acc.data)
            .expect("token account decodes")
            .amount
    }

    pub async fn mint_supply(&mut self, mint: &Pubkey) -> u64 {
        let acc = self.raw_account(mint).await.expect("mint");
        spl_token::state::Mint::unpack(&acc.data)
            .expect("mint decodes")
            .supply
    }

    // ---- nothing-moved assertions -------------------------------------------------

    /// Record the lamports and data of `keys`.
    pub async fn snapshot(&mut self, keys: &[Pubkey]) -> Snapshot {
        let mut accounts = Vec::with_capacity(keys.len());
        for key in keys {
            accounts.push((*key, self.raw_account(key).await));
        }
        Snapshot { accounts }
    }
}

/// Accounts as they were; `assert_unchanged` proves a failed call moved nothing.
pub struct Snapshot {
    accounts: Vec<(Pubkey, Option<Account>)>,
}

impl Snapshot {
    pub async fn assert_unchanged(&self, env: &mut TestEnv) {
        for (key, before) in &self.accounts {
            let after = env.raw_account(key).await;
            let same = match (before, &after) {
                (Some(b), Some(a)) => {
                    b.lamports == a.lamports && b.data == a.data && b.owner == a.owner
                }
                (None, None) => true,
                _ => false,
            };
            assert!(same, "account {key} changed although the call failed");
        }
    }
}

/// Decode the `emit_cpi!` events of type `T` among inner-instruction data.
pub fn decode_events<T>(inner: &[Vec<u8>]) -> Vec<T>
where
    T: anchor_lang::Event + AnchorDeserialize + anchor_lang::Discriminator,
{
    let tag = anchor_lang::event::EVENT_IX_TAG_LE;
    inner
        .iter()
        .filter_map(|data| {
            let rest = data.strip_prefix(tag)?;
            let body = rest.strip_prefix(T::DISCRIMINATOR)?;
            T::try_from_slice(body).ok()
        })
        .collect()
}

/// The custom error code of a failed transaction, if it failed with one.
pub fn custom_error_code(result: &TxResult) -> Option<u32> {
    match result {
        Err(TxError {
            err: TransactionError::InstructionError(_, InstructionError::Custom(code)),
            ..
        }) => Some(*code),
        _ => None,
    }
}

/// Where the program's math failed when `result` failed with a math error code (the program
/// runs natively in this thread; see `tidepool::math::fail`): `" (math error at file:line)"`,
/// else empty. For failure messages.
pub fn math_failure_note(result: &TxResult) -> String {
    let math = [
        TidepoolError::MathOverflow,
        TidepoolError::DivisionByZero,
        TidepoolError::MathDomain,
    ];
    match (custom_error_code(result), tidepool::math::last_failure()) {
        (Some(code), Some(at)) if math.iter().any(|e| u32::from(*e) == code) => {
            format!(" (math error at {at})")
        }
        _ => String::new(),
    }
}

/// Assert that `result` failed with the program error `expected` (a `TidepoolError` or an
/// Anchor `ErrorCode`, both convert to their numeric code).
#[track_caller]
pub fn assert_error(result: TxResult, expected: impl Into<u32>) {
    let expected: u32 = expected.into();
    let got = custom_error_code(&result);
    assert_eq!(
        got,
        Some(expected),
        "expected error code {expected}, got {result:?}{}",
        math_failure_note(&result)
    );
}

/// Assert a transaction failed with a runtime (non-custom) instruction error.
#[track_caller]
pub fn assert_instruction_error(result: TxResult, expected: InstructionError) {
    match result {
        Err(TxError {
            err: TransactionError::InstructionError(_, e),
            ..
        }) => assert_eq!(e, expected),
        other => panic!("expected {expected:?}, got {other:?}"),
    }
}
