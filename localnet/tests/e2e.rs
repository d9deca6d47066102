//! End to end over JSON-RPC: the real `tidepool` CLI and `tidepool-keeper` binaries, and the
//! TypeScript examples and migration, against a localnet started in the test. Prices move
//! with `tidepool_setPythPrice` (a Pyth `PriceUpdateV2` at the sponsored feed account the
//! binaries read by default), time with `surfnet_timeTravel`.
//!
//! Ignored by `cargo test`: `scripts/e2e.sh` builds the binaries, installs the TypeScript
//! client's packages and runs them (`cargo test --workspace --test e2e -- --ignored`).
//! The binaries are taken from `TIDEPOOL_BIN_DIR`, else from this test's target directory.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::request::RpcRequest;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::signer::keypair::write_keypair_file;
use tidepool_client::pda;
use tidepool_localnet::{Config, Localnet, NodeConfig};

const SETTLEMENT_FEED: [u8; 32] = [0x5e; 32];
const SOL_FEED: [u8; 32] = [0x50; 32];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TIDEPOOL_BIN_DIR") {
        return dir.into();
    }
    // target/<profile>/deps/e2e-<hash> -> target/<profile>
    let exe = std::env::current_exe().expect("test executable");
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/e2e.sh, or `cargo build -p tidepool-cli -p tidepool-keeper` first",
        path.display()
    );
    path
}

/// Run a program to completion off the async runtime.
async fn run(
    program: PathBuf,
    args: Vec<String>,
    cwd: Option<PathBuf>,
    env: Vec<(String, String)>,
) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(&program);
        cmd.args(&args).envs(env);
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        cmd.output()
            .unwrap_or_else(|e| panic!("running {}: {e}", program.display()))
    })
    .await
    .expect("join")
}

fn text(o: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

struct World {
    net: Localnet,
    rpc: RpcClient,
    dir: PathBuf,
    admin: Keypair,
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl World {
    async fn start(name: &str) -> Self {
        let admin = Keypair::new();
        let config = Config {
            node: NodeConfig {
                upgrade_authority: Some(admin.pubkey()),
                ..NodeConfig::default()
            },
            ..Config::ephemeral()
        };
        let net = Localnet::start(config).await.expect("localnet");
        let rpc = RpcClient::new_with_commitment(net.rpc_url(), CommitmentConfig::confirmed());
        let dir = std::env::temp_dir().join(format!("tidepool-e2e-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let w = World {
            net,
            rpc,
            dir,
            admin,
        };
        w.keypair_file("admin", &w.admin);
        w
    }

    fn keypair_file(&self, name: &str, k: &Keypair) -> PathBuf {
        let path = self.dir.join(format!("{name}.json"));
        write_keypair_file(k, &path).expect("keypair file");
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    async fn call(&self, method: &'static str, params: Value) -> Value {
        self.rpc
            .send::<Value>(RpcRequest::Custom { method }, params)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// A funded user with `tokens` settlement tokens (whole tokens) in its associated account.
    async fn user(&self, name: &str, tokens: u64) -> Keypair {
        let k = Keypair::new();
        self.keypair_file(name, &k);
        let sig = self
            .rpc
            .request_airdrop(&k.pubkey(), 10_000_000_000)
            .await
            .unwrap();
        self.rpc.confirm_transaction(&sig).await.unwrap();
        if tokens > 0 {
            self.set_tokens(&k.pubkey(), &self.mint(), tokens * 1_000_000)
                .await;
        }
        k
    }

    async fn set_tokens(&self, owner: &Pubkey, mint: &Pubkey, amount: u64) {
        self.call(
            "surfnet_setTokenAccount",
            json!([owner.to_string(), mint.to_string(), { "amount": amount }]),
        )
        .await;
    }

    fn mint(&self) -> Pubkey {
        self.net.info().settlement_mint
    }

    fn oracle(feed: &[u8; 32]) -> Pubkey {
        pda::pyth_feed_account(0, feed)
    }

    /// Publish SOL at `sol_usd` USD and the settlement token at 1 USD, dated now.
    async fn prices(&self, sol_usd: i64) {
        for (feed, price) in [
            (SETTLEMENT_FEED, 100_000_000),
            (SOL_FEED, sol_usd * 100_000_000),
        ] {
            self.call(
                "tidepool_setPythPrice",
                json!([Self::oracle(&feed).to_string(), { "feedId": hex(&feed), "price": price }]),
            )
            .await;
        }
    }

    async fn travel(&self, seconds: i64) {
        self.call(
            "surfnet_timeTravel",
            json!([{ "relativeSeconds": seconds }]),
        )
        .await;
    }

    /// `tidepool --output json …` signed by `who`; its JSON output.
    async fn cli(&self, who: &str, args: &[&str]) -> Value {
        let mut all: Vec<String> = vec![
            "--url".into(),
            self.net.rpc_url(),
            "--keypair".into(),
            self.path(who).display().to_string(),
            "--config".into(),
            self.dir.join("no-config.yml").display().to_string(),
            "--output".into(),
            "json".into(),
        ];
        all.extend(args.iter().map(|s| s.to_string()));
        let out = run(binary("tidepool"), all, None, vec![]).await;
        assert!(out.status.success(), "tidepool {args:?}: {}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last).unwrap_or_else(|e| panic!("tidepool {args:?}: {e}: {stdout}"))
    }

    /// The protocol initialized by the CLI, pool 0 over the settlement mint, market SOL-PERP.
    async fn pool_by_cli(&self) {
        self.prices(150).await;
        let admin = self.admin.pubkey().to_string();
        let r = self
            .cli("admin", &["init", "--fee-recipient", &admin])
            .await;
        assert_eq!(r["action"], "initialize");
        self.create_pool_by_cli().await;
    }

    async fn create_pool_by_cli(&self) {
        let mint = self.mint().to_string();
        let r = self
            .cli(
                "admin",
                &[
                    "create-pool",
                    "--pool-id",
                    "0",
                    "--mint",
                    &mint,
                    "--feed-id",
                    &hex(&SETTLEMENT_FEED),
                ],
            )
            .await;
        assert_eq!(r["details"]["pool"], pda::pool(0).0.to_string());
        let r = self
            .cli(
                "admin",
                &[
                    "create-market",
                    "--pool-id",
                    "0",
                    "--symbol",
                    "SOL-PERP",
                    "--feed-id",
                    &hex(&SOL_FEED),
                ],
            )
            .await;
        assert_eq!(r["details"]["index"], 0);
    }

    /// `lp` deposits `amount` tokens, and after the request delay `keeper` executes it.
    async fn deposit_by_cli(
        &self,
        lp: &str,
        lp_key: &Pubkey,
        amount: &str,
        keeper: &str,
        sol_usd: i64,
    ) {
        self.cli(lp, &["deposit", "--pool-id", "0", "--amount", amount])
            .await;
        self.travel(20).await;
        self.prices(sol_usd).await;
        let owner = lp_key.to_string();
        let r = self
            .cli(
                keeper,
                &["execute-request", "--pool-id", "0", "--owner", &owner],
            )
            .await;
        assert_eq!(r["action"], "execute_liquidity_request");
    }

    async fn token_balance(&self, owner: &Pubkey) -> u64 {
        let ata = anchor_spl::associated_token::get_associated_token_address(owner, &self.mint());
        match self.rpc.get_token_account_balance(&ata).await {
            Ok(b) => b.amount.parse().unwrap(),
            Err(_) => 0,
        }
    }
}

/// What a keeper pass reported: (sent, lost races, failed, actions).
fn pass_counts(out: &Output) -> (u64, u64, u64, u64) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains(" pass: "))
        .unwrap_or_else(|| panic!("no pass line: {}", text(out)));
    let n = |what: &str| -> u64 {
        let before = line.split(what).next().unwrap();
        before.rsplit(' ').next().unwrap().parse().unwrap()
    };
    (n(" sent"), n(" lost races"), n(" failed"), n(" actions"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the CLI and keeper binaries: scripts/e2e.sh"]
async fn cli_admin_lp_trader_and_two_keepers() {
    let w = World::start("cli").await;
    w.pool_by_cli().await;
    let lp = w.user("lp", 300_000).await;
    let alice = w.user("alice", 5_000).await;
    let bob = w.user("bob", 5_000).await;
    let k1 = w.user("keeper1", 0).await;
    let k2 = w.user("keeper2", 0).await;
    // 200k: the pool's net-exposure cap (10 % of the LP balance) leaves room for both longs.
    w.deposit_by_cli("lp", &lp.pubkey(), "200000", "keeper1", 150)
        .await;
    let pool = w.cli("lp", &["pool", "--pool-id", "0"]).await;
    assert_eq!(pool["lp_balance"], "200000", "{pool}");

    // Alice 10x long, Bob 1x long with a stop-loss at 140 (the jump below lifts the
    // maintenance margin past what a 2x long holds: a jump is volatility).
    let r = w
        .cli(
            "alice",
            &[
                "open",
                "--pool-id",
                "0",
                "--side",
                "long",
                "--size-usd",
                "10000",
                "--collateral",
                "1000",
            ],
        )
        .await;
    assert_eq!(r["action"], "open_position");
    // Which program ran: only the SBF build logs its compute units (its loader does), so a
    // run with SBF_OUT_DIR proves the .so is what answered over RPC.
    let tx = w
        .call(
            "getTransaction",
            json!([r["signature"], { "encoding": "json" }]),
        )
        .await;
    let consumed = format!("Program {} consumed", tidepool::ID);
    let logs = tx["meta"]["logMessages"].as_array().expect("logs").clone();
    let sbf = tidepool_runtime_is_sbf();
    assert_eq!(
        logs.iter()
            .any(|l| l.as_str().unwrap_or("").starts_with(&consumed)),
        sbf,
        "{logs:?}"
    );
    println!("program under test: {:?}", w.net.info().program_kind);
    w.cli(
        "bob",
        &[
            "open",
            "--pool-id",
            "0",
            "--side",
            "long",
            "--size-usd",
            "2000",
            "--collateral",
            "2100",
        ],
    )
    .await;
    // Paid by the LP, with a priority fee and a smaller compute budget: the global flags
    // reach the transaction the CLI sends.
    let lp_file = w.path("lp").display().to_string();
    let r = w
        .cli(
            "bob",
            &[
                "set-triggers",
                "--pool-id",
                "0",
                "--side",
                "long",
                "--stop-loss",
                "140",
                "--fee-payer",
                &lp_file,
                "--with-compute-unit-price",
                "1000",
                "--compute-unit-limit",
                "300000",
            ],
        )
        .await;
    let tx = w
        .call(
            "getTransaction",
            json!([r["signature"], { "encoding": "json" }]),
        )
        .await;
    let message = &tx["transaction"]["message"];
    let keys: Vec<&str> = message["accountKeys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k.as_str().expect("key"))
        .collect();
    assert_eq!(keys[0], lp.pubkey().to_string(), "the fee payer pays");
    assert!(keys.contains(&bob.pubkey().to_string().as_str()));
    let budget: Vec<Vec<u8>> = message["instructions"]
        .as_array()
        .expect("instructions")
        .iter()
        .filter(|ix| {
            keys[ix["programIdIndex"].as_u64().expect("index") as usize]
                == "ComputeBudget111111111111111111111111111111"
        })
        .map(|ix| {
            bs58::decode(ix["data"].as_str().expect("data"))
                .into_vec()
                .expect("base58")
        })
        .collect();
    // SetComputeUnitLimit (2, u32 LE) then SetComputeUnitPrice (3, u64 LE).
    let mut limit = vec![2u8];
    limit.extend(300_000u32.to_le_bytes());
    let mut price = vec![3u8];
    price.extend(1000u64.to_le_bytes());
    assert_eq!(budget, vec![limit, price], "{message}");
    let alice_key = alice.pubkey().to_string();
    let before = w.cli("alice", &["positions", "--pool-id", "0"]).await;
    assert_eq!(before[0]["health"]["liquidatable"], false, "{before}");

    // SOL falls 150 -> 137 after the minimum hold: Alice is liquidatable, Bob's stop is hit.
    w.travel(120).await;
    w.prices(137).await;
    let health = w
        .cli(
            "keeper1",
            &["positions", "--pool-id", "0", "--owner", &alice_key],
        )
        .await;
    assert_eq!(health[0]["health"]["liquidatable"], true, "{health}");

    // Two keepers at once.
    let keeper = |who: &str| {
        let args = vec![
            "--url".to_string(),
            w.net.rpc_url(),
            "--keypair".into(),
            w.path(who).display().to_string(),
            "--config".into(),
            w.dir.join("no-config.yml").display().to_string(),
            "--once".into(),
        ];
        run(binary("tidepool-keeper"), args, None, vec![])
    };
    let (o1, o2) = tokio::join!(keeper("keeper1"), keeper("keeper2"));
    println!("keeper 1:\n{}\nkeeper 2:\n{}", text(&o1), text(&o2));
    assert!(o1.status.success() && o2.status.success());
    let (s1, l1, f1, _) = pass_counts(&o1);
    let (s2, l2, f2, _) = pass_counts(&o2);
    // The loser's refusals (a position the winner closed, also inside a re-tagging
    // `refresh_market`) are lost races, never failures.
    assert_eq!((f1, f2), (0, 0), "{}\n{}", text(&o1), text(&o2));
    assert_eq!(
        s1 + s2,
        2,
        "one liquidation and one trigger, each sent once"
    );
    println!("sent {s1}+{s2}, lost races {l1}+{l2}");

    // Bob's position is closed; Alice's is gone or healthy again.
    let bob_key = bob.pubkey().to_string();
    let bob_pos = w
        .cli(
            "keeper1",
            &["positions", "--pool-id", "0", "--owner", &bob_key],
        )
        .await;
    assert_eq!(bob_pos, json!([]), "the stop-loss closed Bob's position");
    let after = w
        .cli(
            "keeper1",
            &["positions", "--pool-id", "0", "--owner", &alice_key],
        )
        .await;
    if let Some(p) = after.as_array().and_then(|a| a.first()) {
        assert_eq!(p["health"]["liquidatable"], false, "{after}");
    }
    let fees = w.token_balance(&k1.pubkey()).await + w.token_balance(&k2.pubkey()).await;
    assert!(fees > 0, "the keepers were paid");

    // `emit_cpi!` events come back from a simulation's inner instructions.
    let refresh = tidepool_client::ix::refresh_market(
        &pda::pool(0).0,
        &pda::market(&pda::pool(0).0, 0).0,
        &World::oracle(&SOL_FEED),
    );
    let tx = solana_sdk::transaction::Transaction::new_with_payer(&[refresh], Some(&k1.pubkey()));
    let sim = w
        .rpc
        .simulate_transaction_with_config(
            &tx,
            solana_rpc_client_api::config::RpcSimulateTransactionConfig {
                sig_verify: false,
                replace_recent_blockhash: true,
                inner_instructions: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .value;
    assert_eq!(sim.err, None, "{:?}", sim.logs);
    assert!(sim.units_consumed.unwrap() > 0);
    let events: Vec<Vec<u8>> = sim
        .inner_instructions
        .expect("inner instructions")
        .into_iter()
        .flat_map(|i| i.instructions)
        .filter_map(|i| match i {
            solana_transaction_status_client_types::UiInstruction::Compiled(c) => {
                bs58::decode(c.data).into_vec().ok()
            }
            _ => None,
        })
        .filter(|d| d.starts_with(anchor_lang::event::EVENT_IX_TAG_LE))
        .collect();
    let discriminator =
        <tidepool::events::MarketRefreshed as anchor_lang::Discriminator>::DISCRIMINATOR;
    assert!(
        events.iter().any(|d| d[8..].starts_with(discriminator)),
        "a MarketRefreshed event among {events:?}"
    );

    // The loser's refusal: the same liquidation again is refused by the program (a code the
    // keeper counts as a lost race), with the standard preflight error.
    let o3 = keeper("keeper2").await;
    // A later pass has nothing to close (it may still re-tag what is left of Alice's).
    let (_, lost, failed, actions) = pass_counts(&o3);
    assert_eq!((actions, lost, failed), (0, 0, 0), "{}", text(&o3));
    let market = pda::market(&pda::pool(0).0, 0).0;
    let keys = tidepool_client::ix::KeeperCloseKeys {
        keeper: k2.pubkey(),
        market: tidepool_client::ix::MarketKeys {
            pool: pda::pool(0).0,
            market,
            price_update: World::oracle(&SOL_FEED),
            settlement_price_update: World::oracle(&SETTLEMENT_FEED),
        },
        position: pda::position(&market, &bob.pubkey(), tidepool::state::Side::Long).0,
        owner: bob.pubkey(),
        owner_token_account: anchor_spl::associated_token::get_associated_token_address(
            &bob.pubkey(),
            &w.mint(),
        ),
        keeper_token_account: anchor_spl::associated_token::get_associated_token_address(
            &k2.pubkey(),
            &w.mint(),
        ),
    };
    let blockhash = w.rpc.get_latest_blockhash().await.unwrap();
    let tx = solana_sdk::transaction::Transaction::new_signed_with_payer(
        &[tidepool_client::ix::execute_trigger_order(&keys)],
        Some(&k2.pubkey()),
        &[&k2],
        blockhash,
    );
    let err = w.rpc.send_and_confirm_transaction(&tx).await.unwrap_err();
    let code = match err.get_transaction_error() {
        Some(solana_sdk::transaction::TransactionError::InstructionError(
            _,
            solana_sdk::instruction::InstructionError::Custom(code),
        )) => code,
        other => panic!("{other:?}: {err}"),
    };
    assert_eq!(
        code,
        u32::from(anchor_lang::error::ErrorCode::AccountNotInitialized),
        "{}",
        tidepool_client::errors::describe(code)
    );
}

/// Whether the node hosts the SBF build (SBF_OUT_DIR or BPF_OUT_DIR holds tidepool.so).
fn tidepool_runtime_is_sbf() -> bool {
    ["SBF_OUT_DIR", "BPF_OUT_DIR"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|d| Path::new(&d).join("tidepool.so").exists()))
}

fn app_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../app")
}

/// `node --import tsx <args>` in app/, with the examples' environment.
async fn node(w: &World, args: &[&str], env: &[(&str, String)]) -> Output {
    let mut all = vec!["--import".to_string(), "tsx".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    let mut vars: Vec<(String, String)> = vec![
        ("RPC_URL".into(), w.net.rpc_url()),
        ("WS_URL".into(), w.net.ws_url()),
        // migrations/ has no node_modules of its own.
        (
            "NODE_PATH".into(),
            app_dir().join("node_modules").display().to_string(),
        ),
    ];
    vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let out = run(PathBuf::from("node"), all, Some(app_dir()), vars).await;
    println!("node {args:?}: {}", text(&out));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs npm packages in app/ and the CLI binary: scripts/e2e.sh"]
async fn typescript_migration_and_examples() {
    assert!(
        app_dir().join("node_modules").exists(),
        "run `npm ci` in app/ first (scripts/e2e.sh does)"
    );
    let w = World::start("ts").await;

    // migrations/deploy.ts initializes the protocol with the upgrade authority's wallet.
    let admin = w.path("admin").display().to_string();
    let deploy = "require('../migrations/deploy.ts')({ connection: { rpcEndpoint: process.env.RPC_URL } }).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); })";
    let out = node(&w, &["-e", deploy], &[("ANCHOR_WALLET", admin.clone())]).await;
    assert!(out.status.success(), "deploy.ts");
    assert!(String::from_utf8_lossy(&out.stdout).contains("initialized"));
    assert!(w.rpc.get_account(&pda::config().0).await.is_ok());

    w.prices(150).await;
    w.create_pool_by_cli().await;
    let big = w.user("big-lp", 200_000).await;
    w.deposit_by_cli("big-lp", &big.pubkey(), "100000", "big-lp", 150)
        .await;

    // deposit-liquidity.ts: a request with a minimum-shares bound from the pool value view.
    let lp = w.user("lp", 1_000).await;
    let pool = pda::pool(0).0;
    let lp_mint = pda::lp_mint(&pool).0;
    w.set_tokens(&lp.pubkey(), &lp_mint, 0).await;
    let ata = |owner: &Pubkey, mint: &Pubkey| {
        anchor_spl::associated_token::get_associated_token_address(owner, mint).to_string()
    };
    let settlement_oracle = World::oracle(&SETTLEMENT_FEED).to_string();
    let sol_oracle = World::oracle(&SOL_FEED).to_string();
    let out = node(
        &w,
        &["examples/deposit-liquidity.ts"],
        &[
            ("KEYPAIR", w.path("lp").display().to_string()),
            ("FUNDING_ACCOUNT", ata(&lp.pubkey(), &w.mint())),
            ("LP_TOKEN_ACCOUNT", ata(&lp.pubkey(), &lp_mint)),
            ("SETTLEMENT_PRICE_ACCOUNT", settlement_oracle.clone()),
            ("MARKET_PRICE_ACCOUNTS", sol_oracle.clone()),
        ],
    )
    .await;
    assert!(out.status.success(), "deposit-liquidity.ts");
    assert!(String::from_utf8_lossy(&out.stdout).contains("deposit requested"));
    assert_eq!(w.token_balance(&lp.pubkey()).await, 900_000_000);

    // open-long.ts after SOL moved up 2 % since the market's last trade: the bound comes
    // from the oracle, not the market's stale last price.
    let trader = w.user("trader", 1_000).await;
    w.travel(5).await;
    w.prices(153).await;
    let trader_env = [
        ("KEYPAIR", w.path("trader").display().to_string()),
        ("FUNDING_ACCOUNT", ata(&trader.pubkey(), &w.mint())),
        ("PRICE_ACCOUNT", sol_oracle.clone()),
        ("SETTLEMENT_PRICE_ACCOUNT", settlement_oracle.clone()),
    ];
    let out = node(&w, &["examples/open-long.ts"], &trader_env).await;
    assert!(out.status.success(), "open-long.ts");
    assert!(String::from_utf8_lossy(&out.stdout).contains("opened"));

    // position-health.ts: the program's own health view, simulated.
    let out = node(&w, &["examples/position-health.ts"], &trader_env).await;
    assert!(out.status.success(), "position-health.ts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("liquidatable: false"), "{stdout}");

    // deploy.ts again: nothing to do.
    let out = node(&w, &["-e", deploy], &[("ANCHOR_WALLET", admin)]).await;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("already initialized"));
}
