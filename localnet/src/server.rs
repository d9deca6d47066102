//! HTTP JSON-RPC (hyper) and WebSocket subscriptions (tokio-tungstenite).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_rpc_client_api::config::RpcAccountInfoConfig;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Signature;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::error::RecvError;
use tokio_tungstenite::tungstenite::Message;

use crate::node::{Event, NodeHandle};
use crate::rpc::{
    self, encode_ui_account, RpcError, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND,
    PARSE_ERROR,
};

/// Largest request body accepted (a batch of transactions fits many times over).
const MAX_BODY: usize = 10 * 1024 * 1024;

fn response(id: Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(result) => json!({ "jsonrpc": "2.0", "result": result, "id": id }),
        Err(e) => json!({ "jsonrpc": "2.0", "error": e.to_json(), "id": id }),
    }
}

/// The method and params of a JSON-RPC 2.0 request, or why it is not one.
fn parse_request(req: &Value) -> Result<(String, Value), RpcError> {
    let obj = req
        .as_object()
        .ok_or_else(|| RpcError::new(INVALID_REQUEST, "Invalid request"))?;
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(RpcError::new(
            INVALID_REQUEST,
            "Invalid request: jsonrpc must be \"2.0\"",
        ));
    }
    let method = obj
        .get("method")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::new(INVALID_REQUEST, "Invalid request: no method"))?;
    Ok((
        method.to_string(),
        obj.get("params").cloned().unwrap_or(Value::Null),
    ))
}

async fn answer_one(node: &NodeHandle, req: Value) -> Value {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let result = match parse_request(&req) {
        Ok((method, params)) => rpc::dispatch(node, &method, params).await,
        Err(e) => Err(e),
    };
    response(id, result)
}

/// Answer a request body: one call or a batch.
pub async fn answer(node: &NodeHandle, body: &[u8]) -> Value {
    let req: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return response(
                Value::Null,
                Err(RpcError::new(PARSE_ERROR, format!("Parse error: {e}"))),
            )
        }
    };
    match req {
        Value::Array(calls) if calls.is_empty() => response(
            Value::Null,
            Err(RpcError::new(
                INVALID_REQUEST,
                "Invalid request: empty batch",
            )),
        ),
        Value::Array(calls) => {
            let mut out = Vec::with_capacity(calls.len());
            for call in calls {
                out.push(answer_one(node, call).await);
            }
            Value::Array(out)
        }
        call => answer_one(node, call).await,
    }
}

type HttpResponse = hyper::Response<Full<Bytes>>;

fn http_response(status: StatusCode, content_type: &str, body: Vec<u8>) -> HttpResponse {
    hyper::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("access-control-allow-origin", "*")
        .header("access-control-allow-methods", "POST, GET, OPTIONS")
        .header(
            "access-control-allow-headers",
            "content-type, solana-client",
        )
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

async fn handle_http(node: NodeHandle, req: Request<Incoming>) -> Result<HttpResponse, Infallible> {
    match (req.method(), req.uri().path()) {
        (&Method::OPTIONS, _) => return Ok(http_response(StatusCode::OK, "text/plain", vec![])),
        (&Method::GET, "/health") => {
            return Ok(http_response(StatusCode::OK, "text/plain", b"ok".to_vec()))
        }
        (&Method::POST, _) => {}
        _ => {
            return Ok(http_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain",
                b"JSON-RPC over POST".to_vec(),
            ))
        }
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            let out = response(
                Value::Null,
                Err(RpcError::new(
                    INVALID_REQUEST,
                    format!("cannot read the body: {e}"),
                )),
            );
            return Ok(http_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "application/json",
                out.to_string().into_bytes(),
            ));
        }
    };
    let out = answer(&node, &body).await;
    Ok(http_response(
        StatusCode::OK,
        "application/json",
        out.to_string().into_bytes(),
    ))
}

/// Serve JSON-RPC over HTTP on `listener` until the task is dropped.
pub async fn serve_http(listener: TcpListener, node: NodeHandle) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let node = node.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle_http(node.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Serve the subscriptions on `listener` until the task is dropped.
pub async fn serve_ws(listener: TcpListener, node: NodeHandle) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let node = node.clone();
        tokio::spawn(async move {
            let _ = ws_connection(stream, node).await;
        });
    }
}

static NEXT_SUBSCRIPTION: AtomicU64 = AtomicU64::new(1);

enum Sub {
    Slot,
    Signature(Signature),
    Account(Pubkey, RpcAccountInfoConfig),
}

fn notification(method: &str, subscription: u64, result: Value) -> Message {
    Message::text(
        json!({
            "jsonrpc": "2.0",
            "method": method,
            "params": { "result": result, "subscription": subscription },
        })
        .to_string(),
    )
}

fn signature_notification(id: u64, slot: u64, err: Option<Value>) -> Message {
    notification(
        "signatureNotification",
        id,
        json!({ "context": { "slot": slot }, "value": { "err": err } }),
    )
}

async fn account_notification(
    node: &NodeHandle,
    id: u64,
    key: Pubkey,
    config: &RpcAccountInfoConfig,
) -> Option<Message> {
    let encoding = config.encoding.unwrap_or(UiAccountEncoding::Base64);
    let slice = config.data_slice;
    let (slot, account) = node
        .call(move |n| {
            let acc = n.account(&key).unwrap_or_default();
            let extra = rpc::token_decimals(n, &acc, encoding);
            (
                n.slot,
                encode_ui_account(&key, &acc, encoding, extra, slice),
            )
        })
        .await
        .ok()?;
    Some(notification(
        "accountNotification",
        id,
        json!({ "context": { "slot": slot }, "value": account }),
    ))
}

async fn ws_connection(
    stream: TcpStream,
    node: NodeHandle,
) -> Result<(), Box<dyn std::error::Error>> {
    let ws = tokio_tungstenite::accept_async(stream).await?;
    let (mut tx, mut rx) = ws.split();
    let mut events = node.subscribe();
    let mut subs: HashMap<u64, Sub> = HashMap::new();
    loop {
        tokio::select! {
            msg = rx.next() => {
                let Some(msg) = msg else { return Ok(()) };
                let text = match msg? {
                    Message::Text(t) => t.to_string(),
                    Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
                    Message::Ping(p) => { tx.send(Message::Pong(p)).await?; continue }
                    Message::Close(_) => return Ok(()),
                    _ => continue,
                };
                for out in ws_request(&node, &mut subs, &text).await {
                    tx.send(out).await?;
                }
            }
            event = events.recv() => {
                let event = match event {
                    Ok(e) => e,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return Ok(()),
                };
                for out in ws_event(&node, &mut subs, &event).await {
                    tx.send(out).await?;
                }
            }
        }
    }
}

async fn ws_event(node: &NodeHandle, subs: &mut HashMap<u64, Sub>, event: &Event) -> Vec<Message> {
    let mut out = Vec::new();
    match event {
        Event::Slot { slot } => {
            for (id, sub) in subs.iter() {
                if let Sub::Slot = sub {
                    out.push(notification(
                        "slotNotification",
                        *id,
                        json!({ "parent": slot - 1, "root": slot.saturating_sub(1), "slot": slot }),
                    ));
                }
            }
        }
        Event::Signature {
            signature,
            slot,
            err,
        } => {
            let done: Vec<u64> = subs
                .iter()
                .filter(|(_, s)| matches!(s, Sub::Signature(sig) if sig == signature))
                .map(|(id, _)| *id)
                .collect();
            for id in done {
                subs.remove(&id);
                let err = err.clone().map(|e| {
                    serde_json::to_value(
                        solana_transaction_status_client_types::UiTransactionError::from(e),
                    )
                    .unwrap_or(Value::Null)
                });
                out.push(signature_notification(id, *slot, err));
            }
        }
        Event::Accounts { keys, .. } => {
            let watched: Vec<(u64, Pubkey, RpcAccountInfoConfig)> = subs
                .iter()
                .filter_map(|(id, s)| match s {
                    Sub::Account(k, c) if keys.contains(k) => Some((*id, *k, c.clone())),
                    _ => None,
                })
                .collect();
            for (id, key, config) in watched {
                if let Some(m) = account_notification(node, id, key, &config).await {
                    out.push(m);
                }
            }
        }
    }
    out
}

/// Answer one WebSocket message: subscribe, unsubscribe, or (any other method) the same
/// JSON-RPC as over HTTP.
async fn ws_request(node: &NodeHandle, subs: &mut HashMap<u64, Sub>, text: &str) -> Vec<Message> {
    let req: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let r = response(
                Value::Null,
                Err(RpcError::new(PARSE_ERROR, format!("Parse error: {e}"))),
            );
            return vec![Message::text(r.to_string())];
        }
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let (method, params) = match parse_request(&req) {
        Ok(x) => x,
        Err(e) => return vec![Message::text(response(id, Err(e)).to_string())],
    };
    let reply =
        |result: Result<Value, RpcError>| Message::text(response(id.clone(), result).to_string());
    let p = |i: usize| params.get(i).cloned().unwrap_or(Value::Null);
    let new_id = || NEXT_SUBSCRIPTION.fetch_add(1, Ordering::Relaxed);
    match method.as_str() {
        "slotSubscribe" => {
            let sid = new_id();
            subs.insert(sid, Sub::Slot);
            vec![reply(Ok(json!(sid)))]
        }
        "signatureSubscribe" => {
            let sig: Option<Signature> = p(0).as_str().and_then(|s| s.parse().ok());
            let Some(sig) = sig else {
                return vec![reply(Err(RpcError::new(
                    INVALID_PARAMS,
                    "Invalid signature",
                )))];
            };
            let sid = new_id();
            // Already processed: notify now (the cluster would have, had the subscription
            // come first), and the subscription ends.
            let known = node
                .call(move |n| n.history.get(&sig).map(|r| (r.slot, r.err.clone())))
                .await
                .ok()
                .flatten();
            let mut out = vec![reply(Ok(json!(sid)))];
            match known {
                Some((slot, err)) => {
                    let err = err.map(|e| {
                        serde_json::to_value(
                            solana_transaction_status_client_types::UiTransactionError::from(e),
                        )
                        .unwrap_or(Value::Null)
                    });
                    out.push(signature_notification(sid, slot, err));
                }
                None => {
                    subs.insert(sid, Sub::Signature(sig));
                }
            }
            out
        }
        "accountSubscribe" => {
            let key: Option<Pubkey> = p(0).as_str().and_then(|s| s.parse().ok());
            let Some(key) = key else {
                return vec![reply(Err(RpcError::new(INVALID_PARAMS, "Invalid pubkey")))];
            };
            let config: RpcAccountInfoConfig = match p(1) {
                Value::Null => RpcAccountInfoConfig::default(),
                v => match serde_json::from_value(v) {
                    Ok(c) => c,
                    Err(e) => {
                        return vec![reply(Err(RpcError::new(INVALID_PARAMS, e.to_string())))]
                    }
                },
            };
            let sid = new_id();
            subs.insert(sid, Sub::Account(key, config));
            vec![reply(Ok(json!(sid)))]
        }
        "slotUnsubscribe" | "signatureUnsubscribe" | "accountUnsubscribe" => match p(0).as_u64() {
            Some(sid) if subs.remove(&sid).is_some() => vec![reply(Ok(json!(true)))],
            _ => vec![reply(Err(RpcError::new(
                INVALID_PARAMS,
                "Invalid subscription id",
            )))],
        },
        m if m.ends_with("Subscribe") || m.ends_with("Unsubscribe") => vec![reply(Err(
            RpcError::new(METHOD_NOT_FOUND, format!("Method not found: {m}")),
        ))],
        _ => vec![reply(rpc::dispatch(node, &method, params.clone()).await)],
    }
}
