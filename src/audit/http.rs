//! The few log endpoints the monitor and the auditor read, over HTTP with
//! timeouts. Everything read here is a claim, checked against the chain.

use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::protocol::Hash32;

#[derive(Clone)]
pub struct LogClient {
    base: String,
    http: reqwest::Client,
    key: Option<String>,
}

/// What the log says a batch is (not trusted: the head binds it).
#[derive(Debug, Clone, Deserialize)]
pub struct BatchClaim {
    pub id: u64,
    pub first_index: u64,
    pub count: u64,
    pub root: Hash32,
    /// The ticket map root its head v2 commits (absent for v1).
    #[serde(default)]
    pub map_root: Option<Hash32>,
}

/// The log served something that cannot be right (too many leaves, pages
/// that do not follow on): a verdict on the log, not a transport error to
/// retry.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Misbehaved(pub String);

#[derive(Deserialize)]
struct LeavesPage {
    leaves: Vec<Hash32>,
    next: Option<u64>,
}

impl LogClient {
    pub fn new(base: &str, key: Option<String>) -> anyhow::Result<LogClient> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--log must be an http(s) URL, got {base:?}");
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Ok(LogClient { base, http, key })
    }

    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .http
            .get(&url)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            bail!("GET {url}: HTTP {status}: {}", body.trim());
        }
        resp.json()
            .await
            .with_context(|| format!("GET {url}: bad JSON"))
    }

    pub async fn batch(&self, id: u64) -> anyhow::Result<BatchClaim> {
        self.get_json(&format!("/v1/batches/{id}")).await
    }

    /// All leaf hashes of a batch, page by page: exactly `count` (the
    /// chain's count for the batch), never more, whatever the log's pages
    /// say.
    pub async fn leaves(&self, id: u64, count: u64) -> anyhow::Result<Vec<Hash32>> {
        let mut out = Vec::with_capacity(count.min(1 << 16) as usize);
        self.each_leaf_page(id, count, |page| {
            out.extend_from_slice(page);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Reads the leaves of a batch page by page, handing each page to
    /// `f`, and stops with an error as soon as the log serves more than
    /// `count` leaves or pages that do not follow on: memory stays at one
    /// page however many leaves the log claims.
    pub async fn each_leaf_page(
        &self,
        id: u64,
        count: u64,
        mut f: impl FnMut(&[Hash32]) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let bad = |why: String| anyhow::Error::new(Misbehaved(format!("batch {id}: {why}")));
        let mut from = 0u64;
        loop {
            let page: LeavesPage = self
                .get_json(&format!("/v1/batches/{id}/leaves?from={from}&limit=10000"))
                .await?;
            if page.leaves.is_empty() {
                return Err(bad(format!(
                    "the log returned an empty page of leaves at {from}"
                )));
            }
            let got = from.saturating_add(page.leaves.len() as u64);
            if got > count {
                return Err(bad(format!(
                    "the log serves more than the {count} leaves the chain anchored (at least {got})"
                )));
            }
            f(&page.leaves)?;
            match page.next {
                Some(n) if n == got && n < count => from = n,
                Some(n) => {
                    return Err(bad(format!(
                        "the log's next page {n} does not follow its page {from}..{got} of {count} leaves"
                    )));
                }
                None if got == count => return Ok(()),
                None => {
                    return Err(bad(format!(
                        "the log served {got} leaves, but the chain anchored {count}"
                    )));
                }
            }
        }
    }

    /// Streams the export of indices `first..end` (audit scope), calling
    /// `each` with every line's text in order: no more than `end − first`
    /// lines are read, each at most `max_line` bytes, or the log misbehaved.
    pub async fn each_export_line(
        &self,
        first: u64,
        end: u64,
        max_line: usize,
        mut each: impl FnMut(&[u8]) -> anyhow::Result<()>,
    ) -> anyhow::Result<u64> {
        let (mut resp, _) = self.export(&format!("from={first}&to={end}")).await?;
        let mut split = super::lines::LineSplitter::new(max_line);
        let mut read = 0u64;
        let want = end.saturating_sub(first);
        loop {
            let chunk = tokio::time::timeout(Duration::from_secs(60), resp.chunk())
                .await
                .map_err(|_| anyhow::anyhow!("the export of {first}..{end} stalled for 60 s"))??;
            let Some(chunk) = chunk else { break };
            split.push(&chunk);
            while let Some(range) = split.next_line().map_err(|e| Misbehaved(e.to_string()))? {
                read += 1;
                if read > want {
                    return Err(Misbehaved(format!(
                        "the export of {first}..{end} served more than {want} lines"
                    ))
                    .into());
                }
                each(&split.bytes()[range])?;
            }
        }
        if read != want || !split.rest().is_empty() {
            return Err(Misbehaved(format!(
                "the export of {first}..{end} served {read} complete lines, not {want}"
            ))
            .into());
        }
        Ok(read)
    }

    /// Starts an export; returns the response (streamed) and the range the
    /// log says it serves.
    pub async fn export(
        &self,
        query: &str,
    ) -> anyhow::Result<(reqwest::Response, Option<(u64, u64)>)> {
        let url = format!("{}/v1/export?{query}", self.base);
        let mut req = self.http.get(&url);
        if let Some(k) = &self.key {
            req = req.bearer_auth(k);
        }
        let resp = req.send().await.with_context(|| format!("GET {url}"))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            bail!("GET {url}: HTTP {status}: {}", body.trim());
        }
        let range = resp
            .headers()
            .get("proofdesk-range")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once('-'))
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
        Ok((resp, range))
    }
}
