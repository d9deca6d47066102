//! An embedded Solana runtime: [LiteSVM](litesvm) with one program under test, run either
//! natively as a builtin (its Rust entrypoint in this process, see [`native`]) or as its
//! SBF build (`<name>.so` in `SBF_OUT_DIR` or `BPF_OUT_DIR`), plus the real SPL Token and
//! Associated Token Account programs LiteSVM ships.
//!
//! Transactions run synchronously, one at a time, on the caller's thread. Signatures are
//! verified; the blockhash never expires; a transaction may be sent twice (there is no
//! signature history to deduplicate against).
//!
//! Program logs: each transaction's log (the runtime's `Program … invoke`, `Program log: …`,
//! `Program … consumed N of M compute units` lines) goes to the `log` target
//! [`TX_LOG`] at debug level, e.g. `RUST_LOG=tidepool_runtime::tx_log=debug`. Nothing is
//! printed unless `RUST_LOG` asks.

pub mod native;

use std::fmt;

use litesvm::types::{FailedTransactionMetadata, TransactionMetadata};
use litesvm::LiteSVM;
use solana_program_entrypoint::ProcessInstruction;
use solana_sdk::account::{Account, ReadableAccount};
use solana_sdk::clock::Clock;
use solana_sdk::hash::Hash;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::rent::Rent;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::transaction::{Transaction, TransactionError};

pub use litesvm;

/// The `log` target of the transaction logs.
pub const TX_LOG: &str = "tidepool_runtime::tx_log";

/// Lamports of the fee payer the runtime starts with (a billion SOL).
const PAYER_LAMPORTS: u64 = 1_000_000_000 * 1_000_000_000;

/// A transaction that failed: the error and the program log up to the failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxError {
    pub err: TransactionError,
    pub logs: Vec<String>,
}

impl fmt::Display for TxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transaction failed: {}", self.err)
    }
}

impl std::error::Error for TxError {}

impl From<FailedTransactionMetadata> for TxError {
    fn from(failed: FailedTransactionMetadata) -> Self {
        TxError {
            err: failed.err,
            logs: failed.meta.logs,
        }
    }
}

/// How the program under test runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramKind {
    /// The Rust entrypoint, as a builtin.
    Native,
    /// The SBF build, in the VM.
    Sbf,
}

/// The `.so` of program `name` in `SBF_OUT_DIR` (else `BPF_OUT_DIR`), if there is one.
pub fn sbf_program_path(name: &str) -> Option<std::path::PathBuf> {
    ["SBF_OUT_DIR", "BPF_OUT_DIR"].iter().find_map(|var| {
        let path = std::path::Path::new(&std::env::var_os(var)?).join(format!("{name}.so"));
        path.exists().then_some(path)
    })
}

/// The runtime and its fee payer.
pub struct Runtime {
    svm: LiteSVM,
    payer: Keypair,
    sigverify: bool,
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new()
    }
}

impl Runtime {
    /// A runtime with the builtins, sysvars, SPL programs and a funded fee payer.
    pub fn new() -> Self {
        init_logger();
        let mut svm = LiteSVM::new()
            .with_sigverify(true)
            .with_blockhash_check(true)
            // No signature history: repeats are allowed and nothing accumulates.
            .with_transaction_history(0);
        if log::log_enabled!(target: TX_LOG, log::Level::Debug) {
            // Whole logs when they are printed (compute units come last).
            svm = svm.with_log_bytes_limit(None);
        }
        let payer = Keypair::new();
        let mut rt = Runtime {
            svm,
            payer,
            sigverify: true,
        };
        rt.set_account(
            &rt.payer.pubkey(),
            Account::new(PAYER_LAMPORTS, 0, &solana_system_interface::program::ID),
        );
        rt
    }

    /// Make `payer` the fee payer (funded as the first one was), for runs whose every key
    /// must be the same from one run to the next.
    pub fn set_payer(&mut self, payer: Keypair) {
        self.set_account(
            &payer.pubkey(),
            Account::new(PAYER_LAMPORTS, 0, &solana_system_interface::program::ID),
        );
        self.payer = payer;
    }

    /// Add program `name` under `program_id`: its SBF build when `SBF_OUT_DIR` or
    /// `BPF_OUT_DIR` holds `<name>.so`, else `entry` natively.
    pub fn add_program(
        &mut self,
        program_id: Pubkey,
        name: &str,
        entry: ProcessInstruction,
    ) -> ProgramKind {
        match sbf_program_path(name) {
            Some(path) => {
                let bytes = std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
                self.add_sbf_program(program_id, &bytes);
                ProgramKind::Sbf
            }
            None => {
                self.add_native_program(program_id, entry);
                ProgramKind::Native
            }
        }
    }

    /// Add a program that runs natively: `entry` is its Rust entrypoint.
    pub fn add_native_program(&mut self, program_id: Pubkey, entry: ProcessInstruction) {
        native::register(program_id, entry);
        self.svm.add_builtin(program_id, native::Dispatch::vm);
    }

    /// Add an SBF program (upgradeable loader, no upgrade authority).
    pub fn add_sbf_program(&mut self, program_id: Pubkey, elf: &[u8]) {
        self.svm
            .add_program(program_id, elf)
            .unwrap_or_else(|e| panic!("loading the SBF program {program_id}: {e:?}"));
    }

    /// Whether signatures are verified (on by default). Off, a transaction's signatures are
    /// not looked at, so a caller may leave them empty ([`Runtime::sign`] does): ed25519
    /// signing and verification are most of the cost of a native transaction.
    pub fn sigverify(&self) -> bool {
        self.sigverify
    }

    pub fn set_sigverify(&mut self, on: bool) {
        self.sigverify = on;
        let svm = std::mem::take(&mut self.svm);
        self.svm = svm.with_sigverify(on);
    }

    /// A transaction of `instructions` paid by the payer and signed by it and `signers`;
    /// with signature verification off, the signatures are left empty (all zeros).
    pub fn sign(
        &self,
        instructions: &[solana_sdk::instruction::Instruction],
        signers: &[&Keypair],
    ) -> Transaction {
        let payer = &self.payer;
        if self.sigverify {
            let mut keys: Vec<&Keypair> = Vec::with_capacity(signers.len() + 1);
            keys.push(payer);
            keys.extend_from_slice(signers);
            return Transaction::new_signed_with_payer(
                instructions,
                Some(&payer.pubkey()),
                &keys,
                self.latest_blockhash(),
            );
        }
        let message = solana_sdk::message::Message::new_with_blockhash(
            instructions,
            Some(&payer.pubkey()),
            &self.latest_blockhash(),
        );
        let mut tx = Transaction::new_unsigned(message);
        tx.signatures =
            vec![Default::default(); tx.message.header.num_required_signatures as usize];
        tx
    }

    pub fn payer(&self) -> &Keypair {
        &self.payer
    }

    pub fn latest_blockhash(&self) -> Hash {
        self.svm.latest_blockhash()
    }

    /// Execute a transaction and commit its effects if it succeeds.
    pub fn send(&mut self, tx: Transaction) -> Result<TransactionMetadata, TxError> {
        let result = self.svm.send_transaction(tx);
        trace("send", &result);
        result.map_err(TxError::from)
    }

    /// Execute a transaction without committing anything.
    pub fn simulate(&self, tx: Transaction) -> Result<TransactionMetadata, TxError> {
        let result = self.svm.simulate_transaction(tx).map(|sim| sim.meta);
        trace("simulate", &result);
        result.map_err(TxError::from)
    }

    pub fn account(&self, key: &Pubkey) -> Option<Account> {
        self.svm.get_account(key)
    }

    /// Create or overwrite an account (zero lamports deletes it).
    pub fn set_account(&mut self, key: &Pubkey, account: Account) {
        self.svm
            .set_account(*key, account)
            .unwrap_or_else(|e| panic!("setting account {key}: {e:?}"));
    }

    /// Every live account `owner` owns, in key order: what `getProgramAccounts` lists
    /// before its filters.
    pub fn program_accounts(&self, owner: &Pubkey) -> Vec<(Pubkey, Account)> {
        let mut out: Vec<(Pubkey, Account)> = self
            .svm
            .accounts_db()
            .inner
            .iter()
            .filter(|(_, a)| a.owner() == owner && a.lamports() > 0)
            .map(|(k, a)| (*k, Account::from(a.clone())))
            .collect();
        out.sort_by_key(|(k, _)| *k);
        out
    }

    pub fn clock(&self) -> Clock {
        self.svm.get_sysvar::<Clock>()
    }

    pub fn set_clock(&mut self, clock: &Clock) {
        self.svm.set_sysvar(clock);
    }

    pub fn rent(&self) -> Rent {
        self.svm.get_sysvar::<Rent>()
    }

    /// The LiteSVM underneath, for what this type does not wrap.
    pub fn svm(&self) -> &LiteSVM {
        &self.svm
    }

    pub fn svm_mut(&mut self) -> &mut LiteSVM {
        &mut self.svm
    }
}

/// `RUST_LOG`-driven logging, off unless asked; captured by the test harness.
fn init_logger() {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("off"))
        .is_test(true)
        .try_init();
}

fn trace<T>(what: &str, result: &Result<T, FailedTransactionMetadata>)
where
    T: AsMeta,
{
    if !log::log_enabled!(target: TX_LOG, log::Level::Debug) {
        return;
    }
    let (meta, outcome) = match result {
        Ok(ok) => (ok.meta(), "ok".to_string()),
        Err(failed) => (&failed.meta, format!("failed: {}", failed.err)),
    };
    log::debug!(target: TX_LOG, "{what} {}: {outcome}", meta.signature);
    for line in &meta.logs {
        log::debug!(target: TX_LOG, "{line}");
    }
}

trait AsMeta {
    fn meta(&self) -> &TransactionMetadata;
}

impl AsMeta for TransactionMetadata {
    fn meta(&self) -> &TransactionMetadata {
        self
    }
}
