//! PostgreSQL's append path: one statement per kind of row for a whole
//! group commit, each taking its rows as arrays (`UNNEST`).
//!
//! Array parameters keep every statement's text the same whatever the
//! group's size, so each connection prepares it once; a multi-row `VALUES`
//! list was a new statement (parse and plan) for every group size, with up
//! to 3,000 parameters to bind.

use std::collections::HashSet;

use sqlx::{PgPool, Postgres, Transaction};

use super::group::{Job, members, settle};
use super::plan::{KnownKeys, MemberPlan, plan_group};
use super::rows::{EventRow, TicketRow, sql};
use super::{Appended, StoreError, Ticket, WriteResult};
use crate::protocol::fields::Timestamp;

const KEYS: &str = "SELECT key, request_hash, result FROM idempotency WHERE key = ANY($1::TEXT[])";
const TIPS: &str = "SELECT handle, external_id, created_at, next_seq, last_leaf, state \
     FROM tickets WHERE handle = ANY($1::TEXT[])";
const INSERT_EVENTS: &str = "INSERT INTO events (idx, ticket, seq, record, leaf, recorded_at_ms) \
     SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::TEXT[], $5::BYTEA[], $6::BIGINT[])";
const INSERT_CONTENTS: &str = "INSERT INTO content (idx, salt, body) \
     SELECT * FROM UNNEST($1::BIGINT[], $2::BYTEA[], $3::TEXT[])";
const UPDATE_TIPS: &str = "UPDATE tickets SET next_seq = v.next_seq, last_leaf = v.last_leaf, state = v.state \
     FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::BYTEA[], $4::TEXT[]) AS v(handle, next_seq, last_leaf, state) \
     WHERE tickets.handle = v.handle";
const REMEMBER: &str = "INSERT INTO idempotency (key, request_hash, result, created_at) \
     SELECT k, h, r, $4 FROM UNNEST($1::TEXT[], $2::BYTEA[], $3::TEXT[]) AS t(k, h, r)";

/// What a write transaction needs, owned, so a group commit can run in its
/// own task.
#[derive(Clone)]
pub struct WriteHandle {
    pub(super) pool: PgPool,
}

impl WriteHandle {
    /// Every write locks the single log_state row first. Global indices must
    /// be contiguous, so appends are serialised by nature; a row lock does
    /// that with no gaps on rollback (a SEQUENCE would leave holes), is
    /// released at commit or on a dropped connection, and makes every later
    /// read in the transaction see the latest committed tips.
    pub(crate) async fn begin(&self) -> Result<(Transaction<'static, Postgres>, ()), StoreError> {
        let (tx, _) = self.begin_at_size().await?;
        Ok((tx, ()))
    }

    /// `begin`, with the log's size read by the locking statement itself:
    /// an append needs it, and it must not cost a second round trip.
    pub(crate) async fn begin_at_size(
        &self,
    ) -> Result<(Transaction<'static, Postgres>, u64), StoreError> {
        let mut tx = self.pool.begin().await?;
        let size: i64 = sqlx::query_scalar("SELECT size FROM log_state WHERE id = 1 FOR UPDATE")
            .fetch_one(&mut *tx)
            .await?;
        Ok((tx, size as u64))
    }
}

/// Commits a group of appends in one transaction. An append the rules
/// reject writes nothing and is answered alone; if the database fails
/// mid-group, every append is retried in its own transaction, so one bad
/// request never sinks the others.
pub(crate) async fn commit_group(handle: WriteHandle, jobs: Vec<Job>) {
    let together = async {
        let (mut tx, size) = handle.begin_at_size().await.map_err(|e| (e, false))?;
        let results = append_group(&mut tx, size, &jobs)
            .await
            .map_err(|e| (e, false))?;
        tx.commit().await.map_err(|e| (StoreError::from(e), true))?;
        Ok(results)
    };
    let outcome = together.await;
    let retry = settle(jobs, outcome);
    for job in retry {
        let alone = async {
            let (mut tx, size) = handle.begin_at_size().await?;
            let result = append_group(&mut tx, size, std::slice::from_ref(&job))
                .await?
                .pop()
                .ok_or_else(|| StoreError::corrupt("a group of one gave no answer"))?;
            // A rejection wrote nothing: dropping the transaction rolls it
            // back.
            if result.is_ok() {
                tx.commit().await?;
            }
            result
        };
        let result = alone.await;
        let _ = job.done.send(result);
    }
}

/// The group inside its transaction, at log size `size` (read when the
/// transaction took the log's lock): read the keys and the tips; plan
/// (pure, `log::plan`); write events, contents, tips, size and keys. The
/// outer error is a database failure; the inner ones are per-append
/// rejections.
async fn append_group(
    tx: &mut Transaction<'static, Postgres>,
    size: u64,
    jobs: &[Job],
) -> Result<Vec<Result<Appended, StoreError>>, StoreError> {
    let Some((policy, members)) = members(jobs) else {
        return Ok(Vec::new());
    };

    let mut known = KnownKeys::new();
    let keys: Vec<&str> = members
        .iter()
        .filter_map(|m| m.idem.map(|i| i.key.as_str()))
        .collect();
    if !keys.is_empty() {
        let rows: Vec<(String, Vec<u8>, String)> = sqlx::query_as(KEYS)
            .bind(&keys)
            .fetch_all(&mut **tx)
            .await?;
        for (key, hash, result) in rows {
            let hash = super::hash_from(&hash, "idempotency request hash")?;
            let result: WriteResult = serde_json::from_str(&result).map_err(StoreError::corrupt)?;
            known.insert(key, (hash, result));
        }
    }

    let mut seen = HashSet::new();
    let wanted: Vec<&str> = members
        .iter()
        .flat_map(|m| m.requests.iter())
        .filter(|r| seen.insert(&r.ticket))
        .map(|r| r.ticket.as_str())
        .collect();
    let rows: Vec<TicketRow> = sqlx::query_as(TIPS)
        .bind(&wanted)
        .fetch_all(&mut **tx)
        .await?;
    let mut tips = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        let ticket: Ticket = row.try_into()?;
        tips.insert(ticket.handle, ticket.tip);
    }
    // Read under the write lock: recorded_at never decreases along the log.
    let recorded_at = Timestamp::now();
    let mut plan = plan_group(&members, size, tips, known, recorded_at, &policy)?;

    if !plan.events.is_empty() {
        let e = &plan.events;
        sqlx::query(INSERT_EVENTS)
            .bind(e.iter().map(|e| e.index as i64).collect::<Vec<_>>())
            .bind(e.iter().map(|e| e.ticket.as_str()).collect::<Vec<_>>())
            .bind(e.iter().map(|e| e.seq as i64).collect::<Vec<_>>())
            .bind(e.iter().map(|e| e.record.as_str()).collect::<Vec<_>>())
            .bind(e.iter().map(|e| e.leaf.0.to_vec()).collect::<Vec<_>>())
            .bind(e.iter().map(|e| e.recorded_at_ms).collect::<Vec<_>>())
            .execute(&mut **tx)
            .await?;
    }
    if !plan.contents.is_empty() {
        let c = &plan.contents;
        sqlx::query(INSERT_CONTENTS)
            .bind(c.iter().map(|(i, _)| *i as i64).collect::<Vec<_>>())
            .bind(
                c.iter()
                    .map(|(_, (salt, _))| salt.to_vec())
                    .collect::<Vec<_>>(),
            )
            .bind(
                c.iter()
                    .map(|(_, (_, body))| body.as_str())
                    .collect::<Vec<_>>(),
            )
            .execute(&mut **tx)
            .await?;
    }
    if !plan.tips.is_empty() {
        let states = plan
            .tips
            .iter()
            .map(|(_, tip)| tip.state.as_ref().map(serde_json::to_string).transpose())
            .collect::<Result<Vec<Option<String>>, _>>()
            .map_err(StoreError::corrupt)?;
        let t = &plan.tips;
        sqlx::query(UPDATE_TIPS)
            .bind(t.iter().map(|(h, _)| h.as_str()).collect::<Vec<_>>())
            .bind(
                t.iter()
                    .map(|(_, tip)| tip.next_seq as i64)
                    .collect::<Vec<_>>(),
            )
            .bind(
                t.iter()
                    .map(|(_, tip)| tip.last_leaf.0.to_vec())
                    .collect::<Vec<_>>(),
            )
            .bind(states)
            .execute(&mut **tx)
            .await?;
    }
    if plan.grows_by() > 0 {
        sqlx::query(sql::GROW_LOG)
            .bind(plan.grows_by() as i64)
            .execute(&mut **tx)
            .await?;
    }
    if !plan.remember.is_empty() {
        let results = plan
            .remember
            .iter()
            .map(|(_, result)| serde_json::to_string(result))
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::corrupt)?;
        let r = &plan.remember;
        sqlx::query(REMEMBER)
            .bind(
                r.iter()
                    .map(|(idem, _)| idem.key.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                r.iter()
                    .map(|(idem, _)| idem.request_hash.0.to_vec())
                    .collect::<Vec<_>>(),
            )
            .bind(results)
            .bind(Timestamp::now().to_string())
            .execute(&mut **tx)
            .await?;
    }

    // Answers: applied members take their events from the plan; a replay
    // (rare) reads its first answer's events back.
    let mut events = plan.events.drain(..);
    let mut answers = Vec::with_capacity(plan.members.len());
    for member in std::mem::take(&mut plan.members) {
        let replayed = match &member {
            MemberPlan::Replayed(WriteResult::Events { first_index, count }) => {
                let rows: Vec<EventRow> = sqlx::query_as(sql::APPENDED_BY_RANGE)
                    .bind(*first_index as i64)
                    .bind((*first_index + *count) as i64)
                    .fetch_all(&mut **tx)
                    .await?;
                Some(
                    rows.into_iter()
                        .map(|r| r.into_event(None))
                        .collect::<Result<Vec<_>, _>>()?,
                )
            }
            _ => None,
        };
        answers.push(member.answer(&mut events, replayed));
    }
    Ok(answers)
}
