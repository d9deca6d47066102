//! The localnet over its own JSON-RPC, with Solana's Rust RPC client (what the CLI and the
//! keeper use) and raw requests: accounts, transactions, preflight failures, cheat codes,
//! subscriptions, bad requests.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::client_error::ErrorKind;
use solana_rpc_client_api::request::{RpcError, RpcRequest, RpcResponseErrorData};
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::transaction::{Transaction, TransactionError};
use tidepool_localnet::{Config, Localnet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

async fn start() -> (Localnet, RpcClient) {
    let net = Localnet::start(Config::ephemeral())
        .await
        .expect("localnet");
    let rpc = RpcClient::new_with_commitment(net.rpc_url(), CommitmentConfig::confirmed());
    (net, rpc)
}

async fn call(rpc: &RpcClient, method: &'static str, params: Value) -> Value {
    rpc.send::<Value>(RpcRequest::Custom { method }, params)
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

/// POST `body` as is; the parsed answer.
async fn raw(net: &Localnet, body: &str) -> Value {
    let mut s = tokio::net::TcpStream::connect(net.rpc_addr).await.unwrap();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let json = out.split("\r\n\r\n").nth(1).expect("a body");
    serde_json::from_str(json).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_what_the_rust_client_needs() {
    let (net, rpc) = start().await;
    assert!(rpc
        .get_version()
        .await
        .unwrap()
        .solana_core
        .starts_with('3'));
    rpc.get_health().await.unwrap();
    let info = net.info().clone();
    assert_eq!(info.program_id, tidepool::ID);

    // The program, SPL Token and the settlement mint exist.
    assert!(rpc.get_account(&tidepool::ID).await.unwrap().executable);
    let mint = rpc.get_account(&info.settlement_mint).await.unwrap();
    assert_eq!(mint.owner, anchor_spl::token::ID);

    // Airdrop and transfer, confirmed as the CLI does it.
    let alice = Keypair::new();
    let bob = Pubkey::new_unique();
    let sig = rpc
        .request_airdrop(&alice.pubkey(), 2_000_000_000)
        .await
        .unwrap();
    assert!(rpc.confirm_transaction(&sig).await.unwrap());
    assert_eq!(
        rpc.get_balance(&alice.pubkey()).await.unwrap(),
        2_000_000_000
    );
    let blockhash = rpc.get_latest_blockhash().await.unwrap();
    let ix = solana_system_interface::instruction::transfer(&alice.pubkey(), &bob, 1_000_000_000);
    let tx = Transaction::new_signed_with_payer(&[ix], Some(&alice.pubkey()), &[&alice], blockhash);
    let sig = rpc.send_and_confirm_transaction(&tx).await.unwrap();
    assert_eq!(rpc.get_balance(&bob).await.unwrap(), 1_000_000_000);
    assert_eq!(
        rpc.get_balance(&alice.pubkey()).await.unwrap(),
        1_000_000_000 - 5_000
    );
    let status = rpc.get_signature_statuses(&[sig]).await.unwrap().value;
    assert_eq!(status[0].as_ref().unwrap().err, None);
    let tx_json = call(&rpc, "getTransaction", json!([sig.to_string(), "json"])).await;
    assert_eq!(tx_json["meta"]["fee"], 5_000);
    assert_eq!(
        tx_json["transaction"]["signatures"][0],
        json!(sig.to_string())
    );

    // The same transaction again: refused, nothing moves.
    let again = rpc.send_transaction(&tx).await.unwrap_err();
    assert_eq!(
        again.get_transaction_error(),
        Some(TransactionError::AlreadyProcessed)
    );

    // A failing transaction: the standard preflight failure (-32002, err and logs).
    let blockhash = rpc.get_latest_blockhash().await.unwrap();
    let ix = solana_system_interface::instruction::transfer(&alice.pubkey(), &bob, 10_000_000_000);
    let tx = Transaction::new_signed_with_payer(&[ix], Some(&alice.pubkey()), &[&alice], blockhash);
    let err = rpc.send_transaction(&tx).await.unwrap_err();
    match err.kind() {
        ErrorKind::RpcError(RpcError::RpcResponseError { code, data, .. }) => {
            assert_eq!(*code, -32002);
            let RpcResponseErrorData::SendTransactionPreflightFailure(sim) = data else {
                panic!("preflight data: {data:?}")
            };
            assert!(sim.logs.as_ref().is_some_and(|l| !l.is_empty()));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.get_transaction_error().is_some());

    // A bad signature.
    let mut forged = tx.clone();
    forged.signatures[0] = Keypair::new().sign_message(b"x");
    let err = rpc.send_transaction(&forged).await.unwrap_err();
    assert!(err.to_string().contains("signature"), "{err}");

    // An unknown blockhash.
    let ix = solana_system_interface::instruction::transfer(&alice.pubkey(), &bob, 1);
    let stale = Transaction::new_signed_with_payer(
        &[ix],
        Some(&alice.pubkey()),
        &[&alice],
        solana_sdk::hash::Hash::new_unique(),
    );
    let err = rpc.send_transaction(&stale).await.unwrap_err();
    assert_eq!(
        err.get_transaction_error(),
        Some(TransactionError::BlockhashNotFound)
    );

    // Slots advance on their own.
    let s0 = rpc.get_slot().await.unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(rpc.get_slot().await.unwrap() > s0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cheat_codes_set_accounts_tokens_prices_and_time() {
    let (net, rpc) = start().await;
    let key = Pubkey::new_unique();
    let owner = Pubkey::new_unique();
    call(
        &rpc,
        "surfnet_setAccount",
        json!([key.to_string(), { "lamports": 5_000_000, "data": "0a0bff", "owner": owner.to_string() }]),
    )
    .await;
    let acc = rpc.get_account(&key).await.unwrap();
    assert_eq!(
        (acc.lamports, acc.data, acc.owner),
        (5_000_000, vec![10, 11, 255], owner)
    );

    // getProgramAccounts with memcmp and dataSize filters.
    use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
    use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
    let config = |filters| RpcProgramAccountsConfig {
        filters: Some(filters),
        account_config: RpcAccountInfoConfig {
            encoding: Some(solana_account_decoder_client_types::UiAccountEncoding::Base64),
            ..Default::default()
        },
        ..Default::default()
    };
    let found = rpc
        .get_program_ui_accounts_with_config(
            &owner,
            config(vec![
                RpcFilterType::Memcmp(Memcmp::new_raw_bytes(1, vec![11])),
                RpcFilterType::DataSize(3),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let none = rpc
        .get_program_ui_accounts_with_config(
            &owner,
            config(vec![RpcFilterType::Memcmp(Memcmp::new_raw_bytes(
                0,
                vec![11],
            ))]),
        )
        .await
        .unwrap();
    assert!(none.is_empty());

    // Token balance of an owner's associated account, the mint's supply following.
    let mint = net.info().settlement_mint;
    call(
        &rpc,
        "surfnet_setTokenAccount",
        json!([owner.to_string(), mint.to_string(), { "amount": 1_500_000 }]),
    )
    .await;
    let ata = anchor_spl::associated_token::get_associated_token_address(&owner, &mint);
    let balance = rpc.get_token_account_balance(&ata).await.unwrap();
    assert_eq!(balance.amount, "1500000");
    assert_eq!(balance.ui_amount_string, "1.5");
    let parsed = call(
        &rpc,
        "getAccountInfo",
        json!([ata.to_string(), { "encoding": "jsonParsed" }]),
    )
    .await;
    let info = &parsed["value"]["data"]["parsed"]["info"];
    assert_eq!(info["tokenAmount"]["uiAmountString"], "1.5", "{parsed}");
    assert_eq!(info["owner"], owner.to_string());

    // A Pyth price.
    let feed = "ab".repeat(32);
    let oracle = Pubkey::new_unique();
    call(
        &rpc,
        "tidepool_setPythPrice",
        json!([oracle.to_string(), { "feedId": feed, "price": 15_000_000_000i64 }]),
    )
    .await;
    let acc = rpc.get_account(&oracle).await.unwrap();
    assert_eq!(acc.owner, pyth_solana_receiver_sdk::ID);

    // Time travel moves the clock and the slot.
    let clock =
        |a: solana_sdk::account::Account| i64::from_le_bytes(a.data[32..40].try_into().unwrap());
    let t0 = clock(
        rpc.get_account(&solana_sdk::sysvar::clock::ID)
            .await
            .unwrap(),
    );
    let s0 = rpc.get_slot().await.unwrap();
    let info = call(
        &rpc,
        "surfnet_timeTravel",
        json!([{ "relativeSeconds": 3600 }]),
    )
    .await;
    let t1 = clock(
        rpc.get_account(&solana_sdk::sysvar::clock::ID)
            .await
            .unwrap(),
    );
    assert!(t1 >= t0 + 3600, "{t0} -> {t1}");
    assert!(info["absoluteSlot"].as_u64().unwrap() >= s0 + 9000);
    let ms = (t1 as u64 + 100) * 1000;
    call(
        &rpc,
        "surfnet_timeTravel",
        json!([{ "absoluteTimestamp": ms }]),
    )
    .await;
    let t2 = clock(
        rpc.get_account(&solana_sdk::sysvar::clock::ID)
            .await
            .unwrap(),
    );
    assert!((t1 + 100..t1 + 102).contains(&t2), "{t1} -> {t2}");
    // A blockhash from before the jump is too old.
    let err = rpc
        .send::<Value>(
            RpcRequest::Custom {
                method: "surfnet_timeTravel",
            },
            json!([{ "absoluteSlot": 1 }]),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("back in time"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_json_rpc_errors() {
    let (net, _rpc) = start().await;
    let code = |v: &Value| v["error"]["code"].as_i64();
    assert_eq!(code(&raw(&net, "{not json").await), Some(-32700));
    assert_eq!(code(&raw(&net, "[]").await), Some(-32600));
    assert_eq!(
        code(&raw(&net, r#"{"id":1,"method":"getSlot"}"#).await),
        Some(-32600)
    );
    assert_eq!(
        code(&raw(&net, r#"{"jsonrpc":"2.0","id":1}"#).await),
        Some(-32600)
    );
    let r = raw(&net, r#"{"jsonrpc":"2.0","id":7,"method":"frobnicate"}"#).await;
    assert_eq!((code(&r), r["id"].as_i64()), (Some(-32601), Some(7)));
    for bad in [
        r#"{"jsonrpc":"2.0","id":1,"method":"getBalance"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"getBalance","params":["nope"]}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"getBalance","params":{"a":1}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"sendTransaction","params":["AAAA",{"encoding":"base64"}]}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"simulateTransaction","params":["!!!"]}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"getProgramAccounts","params":["11111111111111111111111111111111",{"filters":[{"memcmp":{"offset":0,"bytes":"%%"}}]}]}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"surfnet_setAccount","params":["11111111111111111111111111111112",{"data":"xyz"}]}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"surfnet_timeTravel","params":[{"when":"soon"}]}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tidepool_setPythPrice","params":["11111111111111111111111111111112",{"feedId":"00","price":1}]}"#,
    ] {
        let r = raw(&net, bad).await;
        assert_eq!(code(&r), Some(-32602), "{bad}: {r}");
    }
    // A batch answers each call; the node is still up.
    let r = raw(
        &net,
        r#"[{"jsonrpc":"2.0","id":1,"method":"getSlot"},{"jsonrpc":"2.0","id":2,"method":"nope"}]"#,
    )
    .await;
    assert!(r[0]["result"].is_u64());
    assert_eq!(code(&r[1]), Some(-32601));
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// The next text message, within 5 s.
async fn next(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message in time")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = m {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_subscriptions() {
    let (net, rpc) = start().await;
    let tcp = tokio::net::TcpStream::connect(net.ws_addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(net.ws_url(), tcp)
        .await
        .unwrap();
    ws.send(Message::text(
        json!({"jsonrpc":"2.0","id":1,"method":"slotSubscribe"}).to_string(),
    ))
    .await
    .unwrap();
    let sub = next(&mut ws).await["result"].as_u64().unwrap();
    let n = next(&mut ws).await;
    assert_eq!(n["method"], "slotNotification");
    assert_eq!(n["params"]["subscription"], sub);
    ws.send(Message::text(
        json!({"jsonrpc":"2.0","id":2,"method":"slotUnsubscribe","params":[sub]}).to_string(),
    ))
    .await
    .unwrap();
    // Skip notifications already in flight up to the answer.
    loop {
        let m = next(&mut ws).await;
        if m["id"] == 2 {
            assert_eq!(m["result"], true);
            break;
        }
    }

    // Account and signature notifications for an airdrop.
    let who = Pubkey::new_unique();
    ws.send(Message::text(
        json!({"jsonrpc":"2.0","id":3,"method":"accountSubscribe","params":[who.to_string(), {"encoding":"base64"}]}).to_string(),
    ))
    .await
    .unwrap();
    assert!(next(&mut ws).await["result"].is_u64());
    let sig = rpc.request_airdrop(&who, 42_000_000).await.unwrap();
    let n = next(&mut ws).await;
    assert_eq!(n["method"], "accountNotification");
    assert_eq!(n["params"]["result"]["value"]["lamports"], 42_000_000);
    ws.send(Message::text(
        json!({"jsonrpc":"2.0","id":4,"method":"signatureSubscribe","params":[sig.to_string(), {"commitment":"confirmed"}]}).to_string(),
    ))
    .await
    .unwrap();
    assert!(next(&mut ws).await["result"].is_u64());
    let n = next(&mut ws).await;
    assert_eq!(n["method"], "signatureNotification");
    assert_eq!(n["params"]["result"]["value"]["err"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_starts_and_prints_its_ids() {
    use std::io::BufRead;
    /// Killed however the test ends.
    struct Child(std::process::Child);
    impl Drop for Child {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tidepool-localnet"))
        .args(["--rpc-port", "0", "--ws-port", "0", "--slot-ms", "100"])
        .env(
            "HOME",
            std::env::temp_dir().join("tidepool-localnet-no-home"),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(Child)
        .expect("tidepool-localnet starts");
    let stdout = child.0.stdout.take().unwrap();
    let lines: Vec<String> = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .take_while(|l| !l.trim_start().starts_with("methods"))
            .collect()
    })
    .await
    .unwrap();
    let find = |what: &str| {
        lines
            .iter()
            .find(|l| l.trim_start().starts_with(what))
            .unwrap_or_else(|| panic!("{what} in {lines:?}"))
            .split_whitespace()
            .nth(what.split_whitespace().count())
            .unwrap()
            .to_string()
    };
    assert_eq!(find("program"), tidepool::ID.to_string());
    let mint: Pubkey = find("settlement mint").parse().unwrap();
    let rpc = RpcClient::new(find("JSON-RPC"));
    rpc.get_health().await.unwrap();
    assert_eq!(
        rpc.get_account(&mint).await.unwrap().owner,
        anchor_spl::token::ID
    );
    drop(child);
}
