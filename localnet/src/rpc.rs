//! The JSON-RPC methods: Solana's (the subset Tidepool's CLI, keeper and TypeScript client
//! use, and a few more), Surfpool's test cheat codes, and `tidepool_setPythPrice`.

use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use solana_account_decoder_client_types::{UiAccount, UiAccountEncoding, UiDataSliceConfig};
use solana_rpc_client_api::config::{
    RpcAccountInfoConfig, RpcContextConfig, RpcProgramAccountsConfig, RpcRequestAirdropConfig,
    RpcSendTransactionConfig, RpcSignatureStatusConfig, RpcSimulateTransactionConfig,
    RpcTransactionConfig,
};
use solana_rpc_client_api::filter::RpcFilterType;
use solana_rpc_client_api::response::{
    OptionalContext, Response, RpcBlockhash, RpcKeyedAccount, RpcPrioritizationFee,
    RpcResponseContext, RpcSimulateTransactionResult, RpcVersionInfo,
};
use solana_sdk::account::Account;
use solana_sdk::epoch_info::EpochInfo;
use solana_sdk::hash::Hash;
use solana_sdk::program_pack::Pack;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Signature;
use solana_sdk::transaction::{TransactionError, VersionedTransaction};
use solana_transaction_status_client_types::{
    EncodedConfirmedTransactionWithStatusMeta, EncodedTransaction,
    EncodedTransactionWithStatusMeta, TransactionBinaryEncoding, TransactionConfirmationStatus,
    TransactionStatus, UiCompiledInstruction, UiInnerInstructions, UiInstruction, UiMessage,
    UiRawMessage, UiTransaction, UiTransactionEncoding, UiTransactionReturnData,
    UiTransactionStatusMeta,
};
use tidepool_runtime::litesvm::types::TransactionMetadata;

use crate::node::{parse_pubkey, Node, NodeHandle, TokenAccountUpdate, LAMPORTS_PER_SIGNATURE};

/// The solana-core version reported by `getVersion` (clients check it is recent enough).
pub const SOLANA_CORE_VERSION: &str = "3.1.12";

/// Every method served, in the order of the README.
pub const METHODS: &[&str] = &[
    "getAccountInfo",
    "getMultipleAccounts",
    "getProgramAccounts",
    "getBalance",
    "getTokenAccountBalance",
    "getLatestBlockhash",
    "isBlockhashValid",
    "getSlot",
    "getBlockHeight",
    "getEpochInfo",
    "getEpochSchedule",
    "getVersion",
    "getHealth",
    "getGenesisHash",
    "getIdentity",
    "getMinimumBalanceForRentExemption",
    "getFeeForMessage",
    "getRecentPrioritizationFees",
    "getSignatureStatuses",
    "getTransaction",
    "sendTransaction",
    "simulateTransaction",
    "requestAirdrop",
    "surfnet_setAccount",
    "surfnet_setTokenAccount",
    "surfnet_setProgramAuthority",
    "surfnet_timeTravel",
    "surfnet_pauseClock",
    "surfnet_resumeClock",
    "tidepool_setPythPrice",
    "tidepool_getInfo",
];

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
/// Solana: preflight simulation of `sendTransaction` failed.
pub const SEND_TRANSACTION_PREFLIGHT_FAILURE: i64 = -32002;
/// Solana: a signature does not verify.
pub const SIGNATURE_VERIFICATION_FAILURE: i64 = -32003;

#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(INVALID_PARAMS, message)
    }

    pub fn to_json(&self) -> Value {
        let mut e = json!({ "code": self.code, "message": self.message });
        if let Some(data) = &self.data {
            e["data"] = data.clone();
        }
        e
    }
}

impl From<crate::node::NodeGone> for RpcError {
    fn from(_: crate::node::NodeGone) -> Self {
        RpcError::new(INTERNAL_ERROR, "internal error")
    }
}

type RpcResult = Result<Value, RpcError>;

/// The `i`-th parameter, required.
fn param<T: DeserializeOwned>(params: &Value, i: usize, name: &str) -> Result<T, RpcError> {
    let v = params
        .get(i)
        .cloned()
        .filter(|v| !v.is_null())
        .ok_or_else(|| RpcError::invalid_params(format!("missing parameter `{name}`")))?;
    serde_json::from_value(v).map_err(|e| RpcError::invalid_params(format!("`{name}`: {e}")))
}

/// The `i`-th parameter, optional (absent or null gives the default).
fn opt_param<T: DeserializeOwned + Default>(params: &Value, i: usize) -> Result<T, RpcError> {
    match params.get(i) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| RpcError::invalid_params(format!("parameter {i}: {e}"))),
    }
}

fn pubkey_param(params: &Value, i: usize, name: &str) -> Result<Pubkey, RpcError> {
    let s: String = param(params, i, name)?;
    parse_pubkey(&s).map_err(RpcError::invalid_params)
}

fn to_value<T: serde::Serialize>(v: T) -> RpcResult {
    serde_json::to_value(v).map_err(|e| RpcError::new(INTERNAL_ERROR, e.to_string()))
}

fn context(node: &Node) -> RpcResponseContext {
    RpcResponseContext::new(node.slot)
}

fn with_context<T: serde::Serialize>(node: &Node, value: T) -> RpcResult {
    to_value(Response {
        context: context(node),
        value,
    })
}

/// Answer one call. `params` is the request's `params` (an array, or null).
pub async fn dispatch(node: &NodeHandle, method: &str, params: Value) -> RpcResult {
    let params = match params {
        Value::Null => Value::Array(vec![]),
        Value::Array(_) => params,
        // Named parameters: Solana's methods take positional ones only.
        _ => return Err(RpcError::invalid_params("params must be an array")),
    };
    let p = params;
    match method {
        "getHealth" => Ok(json!("ok")),
        "getVersion" => to_value(RpcVersionInfo {
            solana_core: SOLANA_CORE_VERSION.into(),
            feature_set: Some(0),
        }),
        "getGenesisHash" => Ok(json!(Hash::new_from_array([7; 32]).to_string())),
        "getIdentity" => {
            let info = node.info.clone();
            Ok(json!({ "identity": info.mint_authority.to_string() }))
        }
        _ => {
            let method = method.to_string();
            node.call(move |n| sync_dispatch(n, &method, &p)).await?
        }
    }
}

/// The methods that need the node, run on its thread.
fn sync_dispatch(n: &mut Node, method: &str, p: &Value) -> RpcResult {
    match method {
        "getSlot" | "getBlockHeight" => {
            let _: RpcContextConfig = opt_param(p, 0)?;
            Ok(json!(n.slot))
        }
        "tidepool_getInfo" => {
            let i = &n.info;
            Ok(json!({
                "programId": i.program_id.to_string(),
                "programKind": format!("{:?}", i.program_kind),
                "settlementMint": i.settlement_mint.to_string(),
                "settlementDecimals": i.mint_decimals,
                "mintAuthority": i.mint_authority.to_string(),
                "upgradeAuthority": i.upgrade_authority.map(|k| k.to_string()),
            }))
        }
        "getEpochInfo" => to_value(epoch_info(n)),
        "getEpochSchedule" => to_value(n.epoch_schedule.clone()),
        "getLatestBlockhash" => {
            let (hash, last_valid_block_height) = n.latest_blockhash();
            with_context(
                n,
                RpcBlockhash {
                    blockhash: hash.to_string(),
                    last_valid_block_height,
                },
            )
        }
        "isBlockhashValid" => {
            let s: String = param(p, 0, "blockhash")?;
            let hash: Hash = s
                .parse()
                .map_err(|_| RpcError::invalid_params("bad blockhash"))?;
            let valid = n.is_blockhash_valid(&hash);
            with_context(n, valid)
        }
        "getMinimumBalanceForRentExemption" => {
            let len: usize = param(p, 0, "dataLength")?;
            Ok(json!(n.env.rt.rent().minimum_balance(len)))
        }
        "getBalance" => {
            let key = pubkey_param(p, 0, "pubkey")?;
            let lamports = n.account(&key).map_or(0, |a| a.lamports);
            with_context(n, lamports)
        }
        "getAccountInfo" => {
            let key = pubkey_param(p, 0, "pubkey")?;
            let config: RpcAccountInfoConfig = opt_param(p, 1)?;
            let acc = encode_account(n, &key, &config)?;
            with_context(n, acc)
        }
        "getMultipleAccounts" => {
            let keys: Vec<String> = param(p, 0, "pubkeys")?;
            if keys.len() > 100 {
                return Err(RpcError::invalid_params("at most 100 accounts"));
            }
            let config: RpcAccountInfoConfig = opt_param(p, 1)?;
            let mut out = Vec::with_capacity(keys.len());
            for k in keys {
                let key = parse_pubkey(&k).map_err(RpcError::invalid_params)?;
                out.push(encode_account(n, &key, &config)?);
            }
            with_context(n, out)
        }
        "getProgramAccounts" => {
            let program = pubkey_param(p, 0, "programId")?;
            let config: RpcProgramAccountsConfig = opt_param(p, 1)?;
            program_accounts(n, &program, config)
        }
        "getTokenAccountBalance" => {
            let key = pubkey_param(p, 0, "pubkey")?;
            token_balance(n, &key)
        }
        "getFeeForMessage" => {
            let s: String = param(p, 0, "message")?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| RpcError::invalid_params(format!("message: {e}")))?;
            let message: solana_sdk::message::VersionedMessage = bincode::deserialize(&bytes)
                .map_err(|e| RpcError::invalid_params(format!("message: {e}")))?;
            let fee = n
                .is_blockhash_valid(message.recent_blockhash())
                .then(|| message.header().num_required_signatures as u64 * LAMPORTS_PER_SIGNATURE);
            with_context(n, fee)
        }
        "getRecentPrioritizationFees" => to_value(vec![RpcPrioritizationFee {
            slot: n.slot,
            prioritization_fee: 0,
        }]),
        "getSignatureStatuses" => {
            let sigs: Vec<String> = param(p, 0, "signatures")?;
            if sigs.len() > 256 {
                return Err(RpcError::invalid_params("at most 256 signatures"));
            }
            let _: Option<RpcSignatureStatusConfig> = opt_param(p, 1)?;
            let mut out = Vec::with_capacity(sigs.len());
            for s in sigs {
                let sig: Signature = s
                    .parse()
                    .map_err(|_| RpcError::invalid_params(format!("bad signature `{s}`")))?;
                out.push(n.history.get(&sig).map(|r| TransactionStatus {
                    slot: r.slot,
                    // One node, committed at once: every processed transaction is final.
                    confirmations: None,
                    status: r.err.clone().map_or(Ok(()), Err),
                    err: r.err.clone(),
                    confirmation_status: Some(TransactionConfirmationStatus::Finalized),
                }));
            }
            with_context(n, out)
        }
        "getTransaction" => {
            let s: String = param(p, 0, "signature")?;
            let sig: Signature = s
                .parse()
                .map_err(|_| RpcError::invalid_params("bad signature"))?;
            let config: Option<TransactionConfigOrEncoding> = opt_param(p, 1)?;
            let encoding = match config {
                Some(TransactionConfigOrEncoding::Encoding(e)) => Some(e),
                Some(TransactionConfigOrEncoding::Config(c)) => c.encoding,
                None => None,
            }
            .unwrap_or(UiTransactionEncoding::Json);
            match n.history.get(&sig) {
                None => Ok(Value::Null),
                Some(r) => to_value(encode_transaction(r, encoding)?),
            }
        }
        "sendTransaction" => {
            let config: RpcSendTransactionConfig = opt_param(p, 1)?;
            let tx = decode_transaction(p, config.encoding)?;
            send_transaction(n, tx, config.skip_preflight)
        }
        "simulateTransaction" => {
            let config: RpcSimulateTransactionConfig = opt_param(p, 1)?;
            let tx = decode_transaction(p, config.encoding)?;
            simulate_transaction(n, tx, &config)
        }
        "requestAirdrop" => {
            let key = pubkey_param(p, 0, "pubkey")?;
            let lamports: u64 = param(p, 1, "lamports")?;
            let _: Option<RpcRequestAirdropConfig> = opt_param(p, 2)?;
            let sig = n
                .airdrop(&key, lamports)
                .map_err(|e| RpcError::new(INTERNAL_ERROR, format!("airdrop failed: {e}")))?;
            Ok(json!(sig.to_string()))
        }
        "surfnet_setAccount" => {
            let key = pubkey_param(p, 0, "pubkey")?;
            let update: AccountUpdate = param(p, 1, "update")?;
            set_account(n, &key, update)?;
            with_context(n, Value::Null)
        }
        "surfnet_setTokenAccount" => {
            let owner = pubkey_param(p, 0, "owner")?;
            let mint = pubkey_param(p, 1, "mint")?;
            let update: TokenAccountUpdate = opt_param::<Option<_>>(p, 2)?.unwrap_or_default();
            let program = match p.get(3).and_then(Value::as_str) {
                Some(s) => parse_pubkey(s).map_err(RpcError::invalid_params)?,
                None => anchor_spl::token::ID,
            };
            n.set_token_account(&owner, &mint, &program, &update)
                .map_err(RpcError::invalid_params)?;
            with_context(n, Value::Null)
        }
        "surfnet_setProgramAuthority" => {
            let program = pubkey_param(p, 0, "programId")?;
            if program != tidepool::ID {
                return Err(RpcError::invalid_params(
                    "only the Tidepool program's authority can be set",
                ));
            }
            let authority = pubkey_param(p, 1, "newAuthority")?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .map_err(|e| RpcError::new(INTERNAL_ERROR, e.to_string()))?;
            rt.block_on(n.env.set_upgrade_authority(&authority));
            n.info.upgrade_authority = Some(authority);
            with_context(n, Value::Null)
        }
        "surfnet_timeTravel" => {
            let config: TimeTravel = opt_param(p, 0)?;
            time_travel(n, config)?;
            to_value(epoch_info(n))
        }
        "surfnet_pauseClock" => {
            n.pause();
            to_value(epoch_info(n))
        }
        "surfnet_resumeClock" => {
            n.resume();
            to_value(epoch_info(n))
        }
        "tidepool_setPythPrice" => {
            let key = pubkey_param(p, 0, "account")?;
            let price: PythPrice = param(p, 1, "price")?;
            let state = price.to_state(n.unix_time())?;
            n.env.prices.insert(key, state);
            n.set_account(&key, state.to_account());
            with_context(n, json!({ "publishTime": state.publish_time }))
        }
        other if METHODS.contains(&other) => Err(RpcError::new(INTERNAL_ERROR, "not routed")),
        other => Err(RpcError::new(
            METHOD_NOT_FOUND,
            format!("Method not found: {other}"),
        )),
    }
}

fn epoch_info(n: &Node) -> EpochInfo {
    let (epoch, slot_index) = n.epoch_schedule.get_epoch_and_slot_index(n.slot);
    EpochInfo {
        epoch,
        slot_index,
        slots_in_epoch: n.epoch_schedule.get_slots_in_epoch(epoch),
        absolute_slot: n.slot,
        block_height: n.slot,
        transaction_count: Some(n.transaction_count),
    }
}

fn encode_account(
    n: &Node,
    key: &Pubkey,
    config: &RpcAccountInfoConfig,
) -> Result<Option<UiAccount>, RpcError> {
    let encoding = config.encoding.unwrap_or(UiAccountEncoding::Binary);
    let Some(acc) = n.account(key) else {
        return Ok(None);
    };
    check_encoding(encoding, &acc, config.data_slice)?;
    let extra = token_decimals(n, &acc, encoding);
    Ok(Some(encode_ui_account(
        key,
        &acc,
        encoding,
        extra,
        config.data_slice,
    )))
}

/// Solana refuses base58 for accounts over 128 bytes.
fn check_encoding(
    encoding: UiAccountEncoding,
    acc: &Account,
    slice: Option<UiDataSliceConfig>,
) -> Result<(), RpcError> {
    let len = slice.map_or(acc.data.len(), |s| {
        s.length.min(acc.data.len().saturating_sub(s.offset))
    });
    if matches!(
        encoding,
        UiAccountEncoding::Binary | UiAccountEncoding::Base58
    ) && len > 128
    {
        return Err(RpcError::invalid_params(
            "Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.",
        ));
    }
    Ok(())
}

fn filter_allows(filter: &RpcFilterType, acc: &Account) -> bool {
    match filter {
        RpcFilterType::DataSize(size) => acc.data.len() as u64 == *size,
        RpcFilterType::Memcmp(m) => m.bytes_match(&acc.data),
        RpcFilterType::TokenAccountState => {
            acc.data.len() >= 165
                && anchor_spl::token::spl_token::state::Account::unpack_from_slice(&acc.data[..165])
                    .is_ok()
        }
    }
}

fn program_accounts(n: &Node, program: &Pubkey, config: RpcProgramAccountsConfig) -> RpcResult {
    let filters = config.filters.unwrap_or_default();
    if filters.len() > 4 {
        return Err(RpcError::invalid_params("Too many filters provided; max 4"));
    }
    for f in &filters {
        f.verify()
            .map_err(|e| RpcError::invalid_params(format!("filter: {e}")))?;
    }
    let encoding = config
        .account_config
        .encoding
        .unwrap_or(UiAccountEncoding::Binary);
    let slice = config.account_config.data_slice;
    let mut matches = n.env.rt.program_accounts(program);
    matches.retain(|(_, a)| filters.iter().all(|f| filter_allows(f, a)));
    let mut out = Vec::with_capacity(matches.len());
    for (key, acc) in &matches {
        check_encoding(encoding, acc, slice)?;
        out.push(RpcKeyedAccount {
            pubkey: key.to_string(),
            account: encode_ui_account(key, acc, encoding, token_decimals(n, acc, encoding), slice),
        });
    }
    let result = if config.with_context.unwrap_or(false) {
        OptionalContext::Context(Response {
            context: context(n),
            value: out,
        })
    } else {
        OptionalContext::NoContext(out)
    };
    to_value(result)
}

fn token_balance(n: &Node, key: &Pubkey) -> RpcResult {
    use anchor_spl::token::spl_token::state::{Account as TokenAccount, Mint};
    let not_token = || RpcError::invalid_params("Invalid param: not a Token account");
    let acc = n.account(key).ok_or_else(not_token)?;
    let state = TokenAccount::unpack_from_slice(acc.data.get(..165).ok_or_else(not_token)?)
        .map_err(|_| not_token())?;
    let decimals = n
        .account(&state.mint)
        .and_then(|m| Mint::unpack_from_slice(m.data.get(..Mint::LEN)?).ok())
        .map_or(0, |m| m.decimals);
    let ui = state.amount as f64 / 10f64.powi(decimals as i32);
    with_context(
        n,
        json!({
            "amount": state.amount.to_string(),
            "decimals": decimals,
            "uiAmount": ui,
            "uiAmountString": solana_account_decoder::parse_token::real_number_string_trimmed(state.amount, decimals),
        }),
    )
}

/// The transaction in `params[0]`, in the configured encoding (base58 by default).
fn decode_transaction(
    p: &Value,
    encoding: Option<UiTransactionEncoding>,
) -> Result<VersionedTransaction, RpcError> {
    let s: String = param(p, 0, "transaction")?;
    let bytes = match encoding.unwrap_or(UiTransactionEncoding::Base58) {
        UiTransactionEncoding::Base58 | UiTransactionEncoding::Binary => bs58::decode(&s)
            .into_vec()
            .map_err(|e| RpcError::invalid_params(format!("invalid base58: {e}")))?,
        UiTransactionEncoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(&s)
            .map_err(|e| RpcError::invalid_params(format!("invalid base64: {e}")))?,
        other => {
            return Err(RpcError::invalid_params(format!(
                "unsupported encoding: {other}. Supported encodings: base58, base64"
            )))
        }
    };
    if bytes.len() > 1232 {
        return Err(RpcError::invalid_params(format!(
            "transaction too large: {} bytes (max: 1232 bytes)",
            bytes.len()
        )));
    }
    let tx: VersionedTransaction = bincode::deserialize(&bytes).map_err(|e| {
        RpcError::invalid_params(format!(
            "failed to deserialize solana_transaction::versioned::VersionedTransaction: {e}"
        ))
    })?;
    if tx.sanitize().is_err() || tx.signatures.is_empty() {
        return Err(RpcError::invalid_params(
            "invalid transaction: Transaction failed to sanitize accounts offsets correctly",
        ));
    }
    Ok(tx)
}

fn verify_signatures(tx: &VersionedTransaction) -> Result<(), RpcError> {
    if tx.verify_with_results().iter().all(|ok| *ok) {
        Ok(())
    } else {
        Err(RpcError::new(
            SIGNATURE_VERIFICATION_FAILURE,
            "Transaction signature verification failure",
        ))
    }
}

fn inner_instructions(meta: &TransactionMetadata) -> Vec<UiInnerInstructions> {
    meta.inner_instructions
        .iter()
        .enumerate()
        .filter(|(_, list)| !list.is_empty())
        .map(|(i, list)| UiInnerInstructions {
            index: i as u8,
            instructions: list
                .iter()
                .map(|ii| {
                    UiInstruction::Compiled(UiCompiledInstruction::from(
                        &ii.instruction,
                        Some(ii.stack_height as u32),
                    ))
                })
                .collect(),
        })
        .collect()
}

fn return_data(meta: &TransactionMetadata) -> Option<UiTransactionReturnData> {
    let rd = &meta.return_data;
    (rd.program_id != Pubkey::default() || !rd.data.is_empty()).then(|| rd.clone().into())
}

fn simulation_result(
    err: Option<TransactionError>,
    meta: &TransactionMetadata,
    inner: bool,
) -> RpcSimulateTransactionResult {
    RpcSimulateTransactionResult {
        err: err.map(Into::into),
        logs: Some(meta.logs.clone()),
        accounts: None,
        units_consumed: Some(meta.compute_units_consumed),
        loaded_accounts_data_size: None,
        return_data: return_data(meta),
        inner_instructions: inner.then(|| inner_instructions(meta)),
        replacement_blockhash: None,
        fee: Some(meta.fee),
        pre_balances: None,
        post_balances: None,
        pre_token_balances: None,
        post_token_balances: None,
        loaded_addresses: None,
    }
}

/// The standard preflight failure: code -32002, `data` the simulation result.
fn preflight_failure(err: TransactionError, meta: &TransactionMetadata) -> RpcError {
    let message = format!("Transaction simulation failed: {err}");
    let data = serde_json::to_value(simulation_result(Some(err), meta, false)).ok();
    RpcError {
        code: SEND_TRANSACTION_PREFLIGHT_FAILURE,
        message,
        data,
    }
}

fn empty_meta(tx: &VersionedTransaction) -> TransactionMetadata {
    TransactionMetadata {
        signature: tx.signatures[0],
        ..Default::default()
    }
}

fn send_transaction(n: &mut Node, tx: VersionedTransaction, skip_preflight: bool) -> RpcResult {
    verify_signatures(&tx)?;
    let signature = tx.signatures[0];
    if n.history.contains_key(&signature) {
        return Err(preflight_failure(
            TransactionError::AlreadyProcessed,
            &empty_meta(&tx),
        ));
    }
    if !n.is_blockhash_valid(tx.message.recent_blockhash()) {
        if skip_preflight {
            // Dropped, as a cluster would: it never lands.
            return Ok(json!(signature.to_string()));
        }
        return Err(preflight_failure(
            TransactionError::BlockhashNotFound,
            &empty_meta(&tx),
        ));
    }
    match n.execute(tx, skip_preflight) {
        Ok(sig) => Ok(json!(sig.to_string())),
        Err(_) if skip_preflight => Ok(json!(signature.to_string())),
        Err(failed) => Err(preflight_failure(failed.0, &failed.1)),
    }
}

fn simulate_transaction(
    n: &mut Node,
    mut tx: VersionedTransaction,
    config: &RpcSimulateTransactionConfig,
) -> RpcResult {
    if config.sig_verify && config.replace_recent_blockhash {
        return Err(RpcError::invalid_params(
            "sigVerify may not be used with replaceRecentBlockhash",
        ));
    }
    if config.sig_verify {
        verify_signatures(&tx)?;
    }
    let mut replacement = None;
    if config.replace_recent_blockhash {
        let (hash, last_valid_block_height) = n.latest_blockhash();
        tx.message.set_recent_blockhash(hash);
        replacement = Some(RpcBlockhash {
            blockhash: hash.to_string(),
            last_valid_block_height,
        });
    }
    let mut result = if !n.is_blockhash_valid(tx.message.recent_blockhash()) {
        simulation_result(
            Some(TransactionError::BlockhashNotFound),
            &empty_meta(&tx),
            false,
        )
    } else {
        let keys = tx.message.static_account_keys().to_vec();
        let sim = n.env.rt.svm().simulate_transaction(tx);
        let (err, meta, post) = match sim {
            Ok(info) => (None, info.meta, info.post_accounts),
            Err(failed) => (Some(failed.err), failed.meta, vec![]),
        };
        let mut r = simulation_result(err, &meta, config.inner_instructions);
        if let Some(accounts) = &config.accounts {
            let encoding = accounts.encoding.unwrap_or(UiAccountEncoding::Base64);
            let mut out = Vec::with_capacity(accounts.addresses.len());
            for a in &accounts.addresses {
                let key = parse_pubkey(a).map_err(RpcError::invalid_params)?;
                let acc = post
                    .iter()
                    .find(|(k, _)| *k == key && keys.contains(k))
                    .map(|(_, a)| Account::from(a.clone()))
                    .or_else(|| n.account(&key));
                out.push(acc.map(|acc| {
                    let extra = token_decimals(n, &acc, encoding);
                    encode_ui_account(&key, &acc, encoding, extra, None)
                }));
            }
            r.accounts = Some(out);
        }
        r
    };
    result.replacement_blockhash = replacement;
    with_context(n, result)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TransactionConfigOrEncoding {
    Encoding(UiTransactionEncoding),
    Config(RpcTransactionConfig),
}

fn encode_transaction(
    r: &crate::node::TxRecord,
    encoding: UiTransactionEncoding,
) -> Result<EncodedConfirmedTransactionWithStatusMeta, RpcError> {
    let bytes =
        bincode::serialize(&r.tx).map_err(|e| RpcError::new(INTERNAL_ERROR, e.to_string()))?;
    let transaction = match encoding {
        UiTransactionEncoding::Base64 => EncodedTransaction::Binary(
            base64::engine::general_purpose::STANDARD.encode(&bytes),
            TransactionBinaryEncoding::Base64,
        ),
        UiTransactionEncoding::Base58 => EncodedTransaction::Binary(
            bs58::encode(&bytes).into_string(),
            TransactionBinaryEncoding::Base58,
        ),
        UiTransactionEncoding::Binary => {
            EncodedTransaction::LegacyBinary(bs58::encode(&bytes).into_string())
        }
        // jsonParsed is answered as json (raw message).
        UiTransactionEncoding::Json | UiTransactionEncoding::JsonParsed => {
            let m = &r.tx.message;
            EncodedTransaction::Json(UiTransaction {
                signatures: r.tx.signatures.iter().map(|s| s.to_string()).collect(),
                message: UiMessage::Raw(UiRawMessage {
                    header: *m.header(),
                    account_keys: m
                        .static_account_keys()
                        .iter()
                        .map(|k| k.to_string())
                        .collect(),
                    recent_blockhash: m.recent_blockhash().to_string(),
                    instructions: m
                        .instructions()
                        .iter()
                        .map(|ix| UiCompiledInstruction::from(ix, Some(1)))
                        .collect(),
                    address_table_lookups: None,
                }),
            })
        }
    };
    let meta = UiTransactionStatusMeta {
        err: r.err.clone().map(Into::into),
        status: r.err.clone().map_or(Ok(()), |e| Err(e.into())),
        fee: r.meta.fee,
        pre_balances: r.pre_balances.clone(),
        post_balances: r.post_balances.clone(),
        inner_instructions: Some(inner_instructions(&r.meta)).into(),
        log_messages: Some(r.meta.logs.clone()).into(),
        pre_token_balances: Some(vec![]).into(),
        post_token_balances: Some(vec![]).into(),
        rewards: Some(vec![]).into(),
        loaded_addresses:
            solana_transaction_status_client_types::option_serializer::OptionSerializer::Skip,
        return_data: match return_data(&r.meta) {
            Some(rd) => Some(rd).into(),
            None => {
                solana_transaction_status_client_types::option_serializer::OptionSerializer::Skip
            }
        },
        compute_units_consumed: Some(r.meta.compute_units_consumed).into(),
        cost_units:
            solana_transaction_status_client_types::option_serializer::OptionSerializer::Skip,
    };
    let version = match &r.tx.message {
        solana_sdk::message::VersionedMessage::Legacy(_) => {
            solana_sdk::transaction::TransactionVersion::LEGACY
        }
        solana_sdk::message::VersionedMessage::V0(_) => {
            solana_sdk::transaction::TransactionVersion::Number(0)
        }
    };
    Ok(EncodedConfirmedTransactionWithStatusMeta {
        slot: r.slot,
        transaction: EncodedTransactionWithStatusMeta {
            transaction,
            meta: Some(meta),
            version: Some(version),
        },
        block_time: Some(r.block_time),
    })
}

/// `surfnet_setAccount`'s update (Surfpool's shape: `data` in hex).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AccountUpdate {
    lamports: Option<u64>,
    data: Option<String>,
    owner: Option<String>,
    executable: Option<bool>,
    rent_epoch: Option<u64>,
}

fn decode_hex(s: &str) -> Result<Vec<u8>, String> {
    let s = s.trim_start_matches("0x");
    if !s.len().is_multiple_of(2) {
        return Err("hex data has an odd length".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| format!("hex data: {e}")))
        .collect()
}

fn set_account(n: &mut Node, key: &Pubkey, u: AccountUpdate) -> Result<(), RpcError> {
    let mut acc = n.account(key).unwrap_or_else(|| Account {
        lamports: 0,
        data: vec![],
        owner: solana_system_interface::program::ID,
        executable: false,
        rent_epoch: 0,
    });
    let new = acc.lamports == 0;
    if let Some(data) = &u.data {
        acc.data = decode_hex(data).map_err(RpcError::invalid_params)?;
    }
    if let Some(owner) = &u.owner {
        acc.owner = parse_pubkey(owner).map_err(RpcError::invalid_params)?;
    }
    if let Some(x) = u.executable {
        acc.executable = x;
    }
    if let Some(e) = u.rent_epoch {
        acc.rent_epoch = e;
    }
    match u.lamports {
        Some(l) => acc.lamports = l,
        // A new account without lamports: rent-exempt, so it exists.
        None if new => acc.lamports = n.env.rt.rent().minimum_balance(acc.data.len()).max(1),
        None => {}
    }
    n.set_account(key, acc);
    Ok(())
}

/// `surfnet_timeTravel`'s config (Surfpool's shape; `absoluteTimestamp` in milliseconds),
/// plus `relativeSeconds`, a shift of the clock from now.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TimeTravel {
    absolute_epoch: Option<u64>,
    absolute_slot: Option<u64>,
    absolute_timestamp: Option<u64>,
    relative_seconds: Option<i64>,
}

fn time_travel(n: &mut Node, t: TimeTravel) -> Result<(), RpcError> {
    let given = [
        t.absolute_epoch.is_some(),
        t.absolute_slot.is_some(),
        t.absolute_timestamp.is_some(),
        t.relative_seconds.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(RpcError::invalid_params(
            "give one of absoluteEpoch, absoluteSlot, absoluteTimestamp (ms), relativeSeconds",
        ));
    }
    let slot_secs = 0.4f64;
    if let Some(epoch) = t.absolute_epoch {
        let slot = n.epoch_schedule.get_first_slot_in_epoch(epoch);
        return travel_to_slot(n, slot, slot_secs);
    }
    if let Some(slot) = t.absolute_slot {
        return travel_to_slot(n, slot, slot_secs);
    }
    let target = match (t.absolute_timestamp, t.relative_seconds) {
        (Some(ms), _) => (ms / 1000) as i64,
        (_, Some(s)) => n.unix_time() + s,
        _ => unreachable!(),
    };
    let now = n.unix_time();
    if target < now {
        return Err(RpcError::invalid_params("cannot travel back in time"));
    }
    // Slots follow the clock, 400 ms each.
    let slots = ((target - now) as f64 / slot_secs) as u64;
    n.set_unix_time(target);
    n.warp_to_slot(n.slot + slots.max(1));
    Ok(())
}

fn travel_to_slot(n: &mut Node, slot: u64, slot_secs: f64) -> Result<(), RpcError> {
    if slot <= n.slot {
        return Err(RpcError::invalid_params("cannot travel back in time"));
    }
    let secs = ((slot - n.slot) as f64 * slot_secs) as i64;
    let now = n.unix_time();
    n.set_unix_time(now + secs);
    n.warp_to_slot(slot);
    Ok(())
}

/// `tidepool_setPythPrice`'s price: a Pyth `PriceUpdateV2` (fully verified).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PythPrice {
    /// 32 bytes of hex.
    feed_id: String,
    price: i64,
    /// Default: 0.05 % of the price.
    conf: Option<u64>,
    /// Default: -8.
    expo: Option<i32>,
    /// Default: the price.
    ema_price: Option<i64>,
    /// Default: the node's clock now.
    publish_time: Option<i64>,
}

impl PythPrice {
    fn to_state(&self, now: i64) -> Result<tidepool_harness::PriceState, RpcError> {
        let feed = tidepool_client::feeds::parse_feed_id(&self.feed_id)
            .map_err(RpcError::invalid_params)?;
        let mut state =
            tidepool_harness::PriceState::new(feed, self.price, self.publish_time.unwrap_or(now));
        if let Some(c) = self.conf {
            state.conf = c;
        }
        if let Some(e) = self.expo {
            state.expo = e;
        }
        if let Some(e) = self.ema_price {
            state.ema_price = e;
        }
        Ok(state)
    }
}

/// For jsonParsed token accounts: their mint's decimals (what the parser needs).
pub fn token_decimals(
    n: &Node,
    acc: &Account,
    encoding: UiAccountEncoding,
) -> Option<solana_account_decoder::parse_account_data::AccountAdditionalDataV3> {
    use solana_account_decoder::parse_account_data::{
        AccountAdditionalDataV3, SplTokenAdditionalDataV2,
    };
    let token_programs = [anchor_spl::token::ID, anchor_spl::token_2022::ID];
    if encoding != UiAccountEncoding::JsonParsed
        || !token_programs.contains(&acc.owner)
        || acc.data.len() < 165
    {
        return None;
    }
    let mint = Pubkey::try_from(&acc.data[..32]).ok()?;
    let decimals = *n.account(&mint)?.data.get(44)?;
    Some(AccountAdditionalDataV3 {
        spl_token_additional_data: Some(SplTokenAdditionalDataV2::with_decimals(decimals)),
    })
}

/// An account as the RPC shows it, in `encoding` (base64+zstd and jsonParsed included).
pub fn encode_ui_account(
    key: &Pubkey,
    acc: &Account,
    encoding: UiAccountEncoding,
    additional: Option<solana_account_decoder::parse_account_data::AccountAdditionalDataV3>,
    slice: Option<UiDataSliceConfig>,
) -> UiAccount {
    solana_account_decoder::encode_ui_account(key, acc, encoding, additional, slice)
}
