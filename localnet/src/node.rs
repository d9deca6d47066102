//! The node: the embedded runtime (tidepool-runtime on LiteSVM, through the test harness's
//! `TestEnv`) on a thread of its own, with what a cluster has and LiteSVM has not: slots that
//! advance on a timer with the clock, a queue of recent blockhashes, a signature history and
//! notifications for the WebSocket subscriptions.
//!
//! Every request runs as a job on the node thread, one at a time, so transactions are
//! processed in the order they arrive and never concurrently (two keepers racing for the same
//! position: the second one is refused by the program, never double-paid).

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anchor_spl::token::spl_token;
use solana_sdk::account::Account;
use solana_sdk::clock::Clock;
use solana_sdk::epoch_schedule::EpochSchedule;
use solana_sdk::hash::Hash;
use solana_sdk::program_pack::Pack;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signature, Signer};
use solana_sdk::transaction::{TransactionError, VersionedTransaction};
use tidepool_harness::TestEnv;
use tidepool_runtime::litesvm::types::TransactionMetadata;
use tidepool_runtime::ProgramKind;
use tokio::sync::{broadcast, oneshot};

/// A blockhash stays valid for this many slots (as on Solana).
pub const MAX_BLOCKHASH_AGE: u64 = 150;
/// Blockhashes remembered (for `isBlockhashValid` answers past their validity).
const BLOCKHASH_QUEUE: usize = 300;
/// Lamports per signature (LiteSVM's default fee structure).
pub const LAMPORTS_PER_SIGNATURE: u64 = 5_000;

/// What happened, for the WebSocket subscriptions.
#[derive(Clone, Debug)]
pub enum Event {
    Slot {
        slot: u64,
    },
    Signature {
        signature: Signature,
        slot: u64,
        err: Option<TransactionError>,
    },
    /// These accounts were written (a transaction's writable accounts, a cheat code).
    Accounts {
        slot: u64,
        keys: Arc<Vec<Pubkey>>,
    },
}

/// A processed transaction.
pub struct TxRecord {
    pub slot: u64,
    pub block_time: i64,
    pub tx: VersionedTransaction,
    pub err: Option<TransactionError>,
    pub meta: TransactionMetadata,
    pub pre_balances: Vec<u64>,
    pub post_balances: Vec<u64>,
}

/// How the node starts.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Time between slots; the clock advances with wall time.
    pub slot_time: Duration,
    /// The program's upgrade authority (the signer `initialize` accepts); funded at start.
    pub upgrade_authority: Option<Pubkey>,
    /// Decimals of the settlement mint.
    pub mint_decimals: u8,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            slot_time: Duration::from_millis(400),
            upgrade_authority: None,
            mint_decimals: 6,
        }
    }
}

/// What the node set up, printed on start.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub program_id: Pubkey,
    pub program_kind: ProgramKind,
    pub settlement_mint: Pubkey,
    pub mint_decimals: u8,
    pub mint_authority: Pubkey,
    pub upgrade_authority: Option<Pubkey>,
}

pub struct Node {
    pub env: TestEnv,
    pub info: NodeInfo,
    /// One block per slot: the block height is the slot.
    pub slot: u64,
    /// Recent blockhashes with the slot they were made in, newest last.
    blockhashes: VecDeque<(Hash, u64)>,
    pub history: HashMap<Signature, TxRecord>,
    pub transaction_count: u64,
    events: broadcast::Sender<Event>,
    /// Wall-clock anchor of the node's clock, and the shift time travel added.
    started: Instant,
    start_unix: i64,
    offset: i64,
    /// Set while the clock is paused: the time it stays at.
    frozen: Option<i64>,
    pub epoch_schedule: EpochSchedule,
}

fn wall_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Node {
    fn new(config: &NodeConfig, events: broadcast::Sender<Event>) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
        let mut env = rt.block_on(TestEnv::start());
        let kind = program_kind();
        // Signatures and blockhashes are checked here, against the node's own history and
        // blockhash queue (LiteSVM only knows its latest blockhash); simulations may skip
        // signature checks, as on a cluster.
        env.rt.set_sigverify(false);
        let svm = std::mem::take(env.rt.svm_mut());
        *env.rt.svm_mut() = svm.with_blockhash_check(false);
        let mint_authority = env.mint_authority.pubkey();
        let settlement_mint = rt.block_on(env.create_mint(config.mint_decimals));
        if let Some(authority) = config.upgrade_authority {
            rt.block_on(env.set_upgrade_authority(&authority));
            env.set_account(
                &authority,
                Account::new(
                    1_000 * 1_000_000_000,
                    0,
                    &solana_system_interface::program::ID,
                ),
            );
        }
        let epoch_schedule = env.rt.svm().get_sysvar::<EpochSchedule>();
        let mut node = Node {
            env,
            info: NodeInfo {
                program_id: tidepool::ID,
                program_kind: kind,
                settlement_mint,
                mint_decimals: config.mint_decimals,
                mint_authority,
                upgrade_authority: config.upgrade_authority,
            },
            slot: 0,
            blockhashes: VecDeque::new(),
            history: HashMap::new(),
            transaction_count: 0,
            events,
            started: Instant::now(),
            start_unix: wall_unix(),
            offset: 0,
            frozen: None,
            epoch_schedule,
        };
        node.next_slot();
        node
    }

    /// The node's unix time: wall time since start plus any time travel.
    pub fn unix_time(&self) -> i64 {
        if let Some(t) = self.frozen {
            return t;
        }
        self.start_unix + self.started.elapsed().as_secs() as i64 + self.offset
    }

    /// A new slot: clock, blockhash, notification.
    pub fn next_slot(&mut self) {
        self.slot += 1;
        self.sync_clock();
        let svm = self.env.rt.svm_mut();
        svm.expire_blockhash();
        let hash = svm.latest_blockhash();
        self.blockhashes.push_back((hash, self.slot));
        while self.blockhashes.len() > BLOCKHASH_QUEUE {
            self.blockhashes.pop_front();
        }
        let _ = self.events.send(Event::Slot { slot: self.slot });
    }

    /// Write slot, epoch and time into the Clock sysvar.
    pub fn sync_clock(&mut self) {
        let mut clock: Clock = self.env.rt.clock();
        let (epoch, _) = self.epoch_schedule.get_epoch_and_slot_index(self.slot);
        clock.slot = self.slot;
        clock.epoch = epoch;
        clock.leader_schedule_epoch = epoch + 1;
        clock.unix_timestamp = self.unix_time();
        self.env.rt.set_clock(&clock);
    }

    /// Shift the clock so that it reads `unix` now.
    pub fn set_unix_time(&mut self, unix: i64) {
        match &mut self.frozen {
            Some(t) => *t = unix,
            None => self.offset += unix - self.unix_time(),
        }
        self.sync_clock();
    }

    pub fn is_paused(&self) -> bool {
        self.frozen.is_some()
    }

    /// Stop slots and the clock (`surfnet_pauseClock`).
    pub fn pause(&mut self) {
        self.frozen = Some(self.unix_time());
    }

    /// Slots and the clock move again, from where they stopped.
    pub fn resume(&mut self) {
        if let Some(t) = self.frozen.take() {
            self.set_unix_time(t);
        }
    }

    pub fn warp_to_slot(&mut self, slot: u64) {
        while self.slot < slot.saturating_sub(1) {
            // Skip without minting hundreds of blockhashes: only the last few matter.
            self.slot = self.slot.max(slot.saturating_sub(BLOCKHASH_QUEUE as u64));
            self.next_slot();
        }
        if self.slot < slot {
            self.next_slot();
        }
    }

    pub fn latest_blockhash(&self) -> (Hash, u64) {
        let (hash, slot) = *self.blockhashes.back().expect("a blockhash");
        (hash, slot + MAX_BLOCKHASH_AGE)
    }

    pub fn is_blockhash_valid(&self, hash: &Hash) -> bool {
        self.blockhashes
            .iter()
            .any(|(h, slot)| h == hash && self.slot <= slot + MAX_BLOCKHASH_AGE)
    }

    pub fn account(&self, key: &Pubkey) -> Option<Account> {
        self.env.rt.account(key).filter(|a| a.lamports > 0)
    }

    /// Create, overwrite or (zero lamports) delete an account, and notify.
    pub fn set_account(&mut self, key: &Pubkey, account: Account) {
        self.env.set_account(key, account);
        self.notify_accounts(vec![*key]);
    }

    pub fn notify_accounts(&self, keys: Vec<Pubkey>) {
        let _ = self.events.send(Event::Accounts {
            slot: self.slot,
            keys: Arc::new(keys),
        });
    }

    /// Execute and commit a transaction whose signatures and blockhash were checked. A
    /// failed one commits nothing; it is recorded only when `record_failure` (a transaction
    /// sent without preflight lands, failed).
    pub fn execute(
        &mut self,
        tx: VersionedTransaction,
        record_failure: bool,
    ) -> Result<Signature, Box<(TransactionError, TransactionMetadata)>> {
        let keys: Vec<Pubkey> = tx.message.static_account_keys().to_vec();
        let balance = |node: &Node, k: &Pubkey| node.account(k).map_or(0, |a| a.lamports);
        let pre_balances: Vec<u64> = keys.iter().map(|k| balance(self, k)).collect();
        let signature = tx.signatures[0];
        let result = self.env.rt.svm_mut().send_transaction(tx.clone());
        let post_balances: Vec<u64> = keys.iter().map(|k| balance(self, k)).collect();
        let (err, meta) = match result {
            Ok(meta) => (None, meta),
            Err(failed) => (Some(failed.err), failed.meta),
        };
        if log::log_enabled!(target: tidepool_runtime::TX_LOG, log::Level::Debug) {
            let outcome = err.as_ref().map_or("ok".into(), |e| format!("failed: {e}"));
            log::debug!(target: tidepool_runtime::TX_LOG, "slot {} {signature}: {outcome}", self.slot);
            for line in &meta.logs {
                log::debug!(target: tidepool_runtime::TX_LOG, "{line}");
            }
        }
        if err.is_none() || record_failure {
            let writable: Vec<Pubkey> = keys
                .iter()
                .enumerate()
                .filter(|(i, _)| tx.message.is_maybe_writable(*i, None))
                .map(|(_, k)| *k)
                .collect();
            self.transaction_count += 1;
            self.history.insert(
                signature,
                TxRecord {
                    slot: self.slot,
                    block_time: self.unix_time(),
                    tx,
                    err: err.clone(),
                    meta: meta.clone(),
                    pre_balances,
                    post_balances,
                },
            );
            let _ = self.events.send(Event::Signature {
                signature,
                slot: self.slot,
                err: err.clone(),
            });
            if err.is_none() {
                self.notify_accounts(writable);
            }
        }
        match err {
            None => Ok(signature),
            Some(e) => Err(Box::new((e, meta))),
        }
    }

    /// Transfer `lamports` from the node's payer, as a real, recorded transaction.
    pub fn airdrop(&mut self, to: &Pubkey, lamports: u64) -> Result<Signature, TransactionError> {
        let payer: &Keypair = self.env.rt.payer();
        let ix = solana_system_interface::instruction::transfer(&payer.pubkey(), to, lamports);
        let (blockhash, _) = self.latest_blockhash();
        let tx = solana_sdk::transaction::Transaction::new_signed_with_payer(
            &[ix],
            Some(&payer.pubkey()),
            &[payer],
            blockhash,
        );
        self.execute(tx.into(), false).map_err(|f| f.0)
    }

    /// Set the token balance of `owner`'s associated token account for `mint` (created if
    /// missing); the mint's supply follows.
    pub fn set_token_account(
        &mut self,
        owner: &Pubkey,
        mint: &Pubkey,
        token_program: &Pubkey,
        update: &TokenAccountUpdate,
    ) -> Result<Pubkey, String> {
        let ata = anchor_spl::associated_token::get_associated_token_address_with_program_id(
            owner,
            mint,
            token_program,
        );
        let mut state = match self.account(&ata) {
            Some(acc) => spl_token::state::Account::unpack(
                &acc.data[..spl_token::state::Account::LEN.min(acc.data.len())],
            )
            .map_err(|e| format!("{ata} is not a token account: {e}"))?,
            None => spl_token::state::Account {
                mint: *mint,
                owner: *owner,
                state: spl_token::state::AccountState::Initialized,
                ..Default::default()
            },
        };
        let old_amount = state.amount;
        if let Some(amount) = update.amount {
            state.amount = amount;
        }
        if let Some(delegate) = &update.delegate {
            state.delegate = match delegate {
                Some(d) => Some(parse_pubkey(d)?).into(),
                None => None.into(),
            };
        }
        if let Some(delegated) = update.delegated_amount {
            state.delegated_amount = delegated;
        }
        if let Some(close) = &update.close_authority {
            state.close_authority = match close {
                Some(d) => Some(parse_pubkey(d)?).into(),
                None => None.into(),
            };
        }
        if let Some(s) = &update.state {
            state.state = match s.as_str() {
                "initialized" => spl_token::state::AccountState::Initialized,
                "frozen" => spl_token::state::AccountState::Frozen,
                other => return Err(format!("unknown token account state `{other}`")),
            };
        }
        let mut data = vec![0u8; spl_token::state::Account::LEN];
        spl_token::state::Account::pack(state, &mut data).map_err(|e| e.to_string())?;
        let lamports = self.env.rt.rent().minimum_balance(data.len());
        let account = Account {
            lamports,
            data,
            owner: *token_program,
            executable: false,
            rent_epoch: 0,
        };
        self.set_account(&ata, account);
        // Keep the mint's supply equal to the sum of balances.
        if let Some(mut mint_acc) = self.account(mint) {
            if let Ok(mut m) = spl_token::state::Mint::unpack(
                &mint_acc.data[..spl_token::state::Mint::LEN.min(mint_acc.data.len())],
            ) {
                m.supply = (m.supply + state.amount).saturating_sub(old_amount);
                if spl_token::state::Mint::pack(
                    m,
                    &mut mint_acc.data[..spl_token::state::Mint::LEN],
                )
                .is_ok()
                {
                    self.set_account(mint, mint_acc);
                }
            }
        }
        Ok(ata)
    }
}

pub fn parse_pubkey(s: &str) -> Result<Pubkey, String> {
    s.parse().map_err(|e| format!("bad public key `{s}`: {e}"))
}

/// `surfnet_setTokenAccount`'s update (Surfpool's shape).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenAccountUpdate {
    pub amount: Option<u64>,
    #[serde(default, deserialize_with = "double_option")]
    pub delegate: Option<Option<String>>,
    pub state: Option<String>,
    pub delegated_amount: Option<u64>,
    #[serde(default, deserialize_with = "double_option")]
    pub close_authority: Option<Option<String>>,
}

fn double_option<'de, D>(d: D) -> Result<Option<Option<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    Ok(Some(Option::<String>::deserialize(d)?))
}

fn program_kind() -> ProgramKind {
    if tidepool_runtime::sbf_program_path("tidepool").is_some() {
        ProgramKind::Sbf
    } else {
        ProgramKind::Native
    }
}

type Job = Box<dyn FnOnce(&mut Node) + Send>;

/// A handle on the node thread. Cheap to clone; the thread ends when the last one is dropped.
#[derive(Clone)]
pub struct NodeHandle {
    jobs: mpsc::Sender<Job>,
    events: broadcast::Sender<Event>,
    pub info: Arc<NodeInfo>,
}

/// The node thread stopped (it panicked while starting) or a job panicked.
#[derive(Debug)]
pub struct NodeGone;

impl NodeHandle {
    /// Start the node thread: the runtime with the program, SPL Token, ATA and the mint.
    pub fn start(config: NodeConfig) -> std::io::Result<Self> {
        let (events, _) = broadcast::channel(4096);
        let (jobs, rx) = mpsc::channel::<Job>();
        let (info_tx, info_rx) = mpsc::channel();
        let thread_events = events.clone();
        std::thread::Builder::new()
            .name("tidepool-localnet-node".into())
            .spawn(move || {
                let mut node = Node::new(&config, thread_events);
                let _ = info_tx.send(node.info.clone());
                run(&mut node, rx, config.slot_time);
            })?;
        let info = info_rx
            .recv()
            .map_err(|_| std::io::Error::other("the node failed to start"))?;
        Ok(Self {
            jobs,
            events,
            info: Arc::new(info),
        })
    }

    /// Run `f` on the node thread and wait for its answer.
    pub async fn call<R, F>(&self, f: F) -> Result<R, NodeGone>
    where
        R: Send + 'static,
        F: FnOnce(&mut Node) -> R + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |node| {
                let _ = tx.send(f(node));
            }))
            .map_err(|_| NodeGone)?;
        rx.await.map_err(|_| NodeGone)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }
}

fn run(node: &mut Node, jobs: mpsc::Receiver<Job>, slot_time: Duration) {
    let mut next = Instant::now() + slot_time;
    loop {
        let wait = next.saturating_duration_since(Instant::now());
        match jobs.recv_timeout(wait) {
            Ok(job) => {
                // A panicking request must not take the node down: its caller gets an
                // internal error (the answer channel is dropped), the node carries on.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(node)));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        if Instant::now() >= next {
            if !node.is_paused() {
                node.next_slot();
            }
            next += slot_time;
            if next < Instant::now() {
                next = Instant::now() + slot_time;
            }
        }
    }
}
