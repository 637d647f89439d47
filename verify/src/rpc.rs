//! A small JSON-RPC client for the verifier: calls go out in JSON-RPC batch
//! requests (a bundle of 20,000 one-leaf batches is 200 HTTP requests, not
//! 20,000 sequential `eth_call`s), a few at a time, each request bounded by
//! a timeout and each answer by a size cap. The RPC may be the operator's,
//! so nothing it sends can hang the verifier or fill its memory.
//!
//! An endpoint that refuses batch requests (answers with an object, not an
//! array) gets the same calls one by one, with the same bounds.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

/// Calls per batch request: public RPCs accept 100 (most take 1,000).
pub const BATCH_SIZE: usize = 100;
/// Batch requests in flight per endpoint.
pub const CONCURRENCY: usize = 4;
/// Default cap on one answer's body.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("invalid RPC URL {0:?}")]
    Url(String),
    #[error("RPC {url}: {call} timed out after {after:?}")]
    Timeout {
        url: String,
        call: String,
        after: Duration,
    },
    #[error("RPC {url}: {call} failed: {message}")]
    Failed {
        url: String,
        call: String,
        message: String,
    },
    #[error("RPC {url}: the answer to {call} is larger than {limit} bytes")]
    TooLarge {
        url: String,
        call: String,
        limit: usize,
    },
}

/// One JSON-RPC call.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: &'static str,
    pub params: Value,
    /// How errors name it (`batchHead(7)`, `eth_getLogs 100-1099`).
    pub label: String,
}

impl Call {
    pub fn new(method: &'static str, params: Value, label: impl Into<String>) -> Call {
        Call {
            method,
            params,
            label: label.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rpc {
    pub url: String,
    client: reqwest::Client,
    timeout: Duration,
    max_answer_bytes: usize,
}

impl Rpc {
    pub fn new(url: &str, timeout: Duration, max_answer_bytes: usize) -> Result<Rpc, RpcError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| RpcError::Url(url.to_owned()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(RpcError::Url(url.to_owned()));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| RpcError::Failed {
                url: url.to_owned(),
                call: "connect".into(),
                message: e.to_string(),
            })?;
        Ok(Rpc {
            url: url.to_owned(),
            client,
            timeout,
            max_answer_bytes,
        })
    }

    fn failed(&self, call: &str, message: impl Into<String>) -> RpcError {
        RpcError::Failed {
            url: self.url.clone(),
            call: call.to_owned(),
            message: message.into(),
        }
    }

    /// POSTs one JSON body and reads the answer, bounded in time and size.
    async fn post(&self, body: &Value, what: &str) -> Result<Value, RpcError> {
        let exchange = async {
            let mut resp = self
                .client
                .post(&self.url)
                .json(body)
                .send()
                .await
                .map_err(|e| self.failed(what, e.to_string()))?;
            if !resp.status().is_success() {
                return Err(self.failed(what, format!("HTTP {}", resp.status())));
            }
            let too_large = || RpcError::TooLarge {
                url: self.url.clone(),
                call: what.to_owned(),
                limit: self.max_answer_bytes,
            };
            if resp
                .content_length()
                .is_some_and(|n| n > self.max_answer_bytes as u64)
            {
                return Err(too_large());
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| self.failed(what, e.to_string()))?
            {
                if bytes.len().saturating_add(chunk.len()) > self.max_answer_bytes {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            serde_json::from_slice::<Value>(&bytes)
                .map_err(|e| self.failed(what, format!("the answer is not JSON: {e}")))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(RpcError::Timeout {
                url: self.url.clone(),
                call: what.to_owned(),
                after: self.timeout,
            }),
        }
    }

    /// The result of one answer object, or the call's error.
    fn result_of(&self, call: &Call, answer: &Value) -> Result<Value, RpcError> {
        if let Some(err) = answer.get("error").filter(|e| !e.is_null()) {
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| err.to_string());
            return Err(self.failed(&call.label, message));
        }
        answer
            .get("result")
            .cloned()
            .ok_or_else(|| self.failed(&call.label, "the answer has no result"))
    }

    pub async fn call(&self, call: &Call) -> Result<Value, RpcError> {
        let body = json!({"jsonrpc": "2.0", "id": 0, "method": call.method, "params": call.params});
        let answer = self.post(&body, &call.label).await?;
        self.result_of(call, &answer)
    }

    /// One batch request of at most `BATCH_SIZE` calls; results in call
    /// order. An endpoint that does not take batches gets them one by one.
    async fn one_batch(&self, calls: &[Call]) -> Result<Vec<Value>, RpcError> {
        if calls.len() == 1 {
            return Ok(vec![self.call(&calls[0]).await?]);
        }
        let body: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(id, c)| json!({"jsonrpc": "2.0", "id": id, "method": c.method, "params": c.params}))
            .collect();
        let what = format!("a batch of {} calls ({}, …)", calls.len(), calls[0].label);
        let answer = self.post(&Value::Array(body), &what).await?;
        let Value::Array(answers) = answer else {
            // No batch support: the same calls, one request each.
            let mut out = Vec::with_capacity(calls.len());
            for c in calls {
                out.push(self.call(c).await?);
            }
            return Ok(out);
        };
        let mut slots: Vec<Option<Value>> = vec![None; calls.len()];
        for a in &answers {
            let Some(id) = a
                .get("id")
                .and_then(Value::as_u64)
                .and_then(|i| usize::try_from(i).ok())
                .filter(|i| *i < calls.len())
            else {
                return Err(self.failed(&what, "an answer carries an id that was not asked"));
            };
            if slots[id].is_some() {
                return Err(self.failed(&what, format!("id {id} is answered twice")));
            }
            slots[id] = Some(self.result_of(&calls[id], a)?);
        }
        slots
            .into_iter()
            .zip(calls)
            .map(|(s, c)| s.ok_or_else(|| self.failed(&c.label, "the batch answer leaves it out")))
            .collect()
    }

    /// Every call, in batch requests of `BATCH_SIZE`, `CONCURRENCY` at a
    /// time; results in call order. The first failure fails the whole.
    pub async fn batch(&self, calls: &[Call]) -> Result<Vec<Value>, RpcError> {
        let requests: Vec<_> = calls
            .chunks(BATCH_SIZE)
            .map(|chunk| self.one_batch(chunk))
            .collect();
        let answers: Vec<Result<Vec<Value>, RpcError>> = futures::stream::iter(requests)
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let mut out = Vec::with_capacity(calls.len());
        for a in answers {
            out.extend(a?);
        }
        Ok(out)
    }
}

/// A JSON-RPC quantity (`0x` + hex, no leading zeros beyond `0x0`) as u64;
/// anything else, or a value past u64, is refused rather than wrapped.
pub fn quantity(v: &Value) -> Option<u64> {
    let hex = v.as_str()?.strip_prefix("0x")?;
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

pub fn to_quantity(n: u64) -> Value {
    Value::String(format!("{n:#x}"))
}

/// `0x`-prefixed hex data as bytes.
pub fn data(v: &Value) -> Option<Vec<u8>> {
    hex::decode(v.as_str()?.strip_prefix("0x")?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_read_strictly() {
        assert_eq!(quantity(&json!("0x0")), Some(0));
        assert_eq!(quantity(&json!("0x7a69")), Some(31337));
        assert_eq!(quantity(&json!("0xffffffffffffffff")), Some(u64::MAX));
        assert_eq!(quantity(&json!("0x10000000000000000")), None, "past u64");
        assert_eq!(quantity(&json!("0x")), None);
        assert_eq!(quantity(&json!("7a69")), None);
        assert_eq!(quantity(&json!(31337)), None);
        assert_eq!(to_quantity(31337), json!("0x7a69"));
        assert_eq!(data(&json!("0x00ff")), Some(vec![0, 255]));
    }
}
