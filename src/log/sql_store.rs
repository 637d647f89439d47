//! The `Store` implementation shared by the SQLite and PostgreSQL backends.
//!
//! Both speak the same SQL (see `rows::sql`) and differ only in how a write
//! transaction serialises against other writers, which each backend supplies
//! as `begin_write`. A macro stamps the impl out per concrete sqlx database
//! type, because sqlx's generic executor bounds would otherwise cost more
//! code than they save.

macro_rules! impl_sql_store {
    ($store:ty, $name:literal) => {
        #[async_trait::async_trait]
        impl $crate::log::Store for $store {
            fn backend(&self) -> &'static str {
                $name
            }

            fn integration_store(&self) -> &dyn $crate::log::integrations::IntegrationStore {
                self
            }

            async fn create_ticket(
                &self,
                external_id: &str,
                handle: $crate::protocol::fields::TicketHandle,
                now: $crate::protocol::fields::Timestamp,
            ) -> Result<($crate::log::Ticket, bool), $crate::log::StoreError> {
                use $crate::log::rows::{TicketRow, sql};
                let inserted = sqlx::query(sql::INSERT_TICKET)
                    .bind(handle.as_str())
                    .bind(external_id)
                    .bind(now.to_string())
                    .bind($crate::protocol::Hash32::ZERO.0.to_vec())
                    .execute(&self.pool)
                    .await?
                    .rows_affected()
                    == 1;
                let row: TicketRow = sqlx::query_as(sql::TICKET_BY_EXTERNAL)
                    .bind(external_id)
                    .fetch_one(&self.pool)
                    .await?;
                Ok((row.try_into()?, inserted))
            }

            async fn ticket(
                &self,
                handle: &$crate::protocol::fields::TicketHandle,
            ) -> Result<Option<$crate::log::Ticket>, $crate::log::StoreError> {
                use $crate::log::rows::{TicketRow, sql};
                let row: Option<TicketRow> = sqlx::query_as(sql::TICKET_BY_HANDLE)
                    .bind(handle.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn append(
                &self,
                requests: Vec<$crate::log::AppendRequest>,
                idem: Option<$crate::log::Idempotency>,
                policy: &$crate::protocol::state::Policy,
            ) -> Result<$crate::log::Appended, $crate::log::StoreError> {
                let handle = self.write_handle();
                self.group
                    .submit(requests, idem, policy, move |jobs| {
                        Self::commit_group(handle, jobs)
                    })
                    .await
            }

            async fn events_by_ticket(
                &self,
                handle: &$crate::protocol::fields::TicketHandle,
            ) -> Result<Vec<$crate::log::StoredEvent>, $crate::log::StoreError> {
                use $crate::log::rows::{EventRow, sql};
                let rows: Vec<EventRow> = sqlx::query_as(sql::EVENTS_BY_TICKET)
                    .bind(handle.as_str())
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn events_by_range(
                &self,
                first_index: u64,
                count: u64,
            ) -> Result<Vec<$crate::log::StoredEvent>, $crate::log::StoreError> {
                use $crate::log::rows::{EventRow, sql};
                let rows: Vec<EventRow> = sqlx::query_as(sql::EVENTS_BY_RANGE)
                    .bind(first_index as i64)
                    .bind((first_index + count) as i64)
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn content(
                &self,
                ticket: &$crate::protocol::fields::TicketHandle,
                seq: u64,
            ) -> Result<Option<$crate::log::content::StoredContent>, $crate::log::StoreError> {
                use $crate::log::content::{ContentRow, from_row, sql};
                let row: Option<ContentRow> = sqlx::query_as(sql::CONTENT_BY_TICKET_SEQ)
                    .bind(ticket.as_str())
                    .bind(seq as i64)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(from_row).transpose()
            }

            async fn erase_content(
                &self,
                ticket: &$crate::protocol::fields::TicketHandle,
                seq: u64,
                erased_by: &str,
                now: $crate::protocol::fields::Timestamp,
            ) -> Result<Option<$crate::log::content::StoredContent>, $crate::log::StoreError> {
                use $crate::log::content::sql;
                let Some(found) = self.content(ticket, seq).await? else {
                    return Ok(None);
                };
                if found.erased_at.is_none() {
                    // Conditional on erased_at IS NULL: of two racing
                    // erasures, the first one's time stays.
                    sqlx::query(sql::ERASE)
                        .bind(now.to_string())
                        .bind(erased_by)
                        .bind(found.index as i64)
                        .execute(&self.pool)
                        .await?;
                }
                self.content(ticket, seq).await
            }

            async fn stats(&self) -> Result<$crate::log::LogStats, $crate::log::StoreError> {
                use $crate::log::rows::sql;
                let (size, sealed): (i64, i64) =
                    sqlx::query_as(sql::LOG_STATE).fetch_one(&self.pool).await?;
                let (batches, anchored, finals): (i64, i64, i64) =
                    sqlx::query_as(sql::BATCH_COUNTS)
                        .fetch_one(&self.pool)
                        .await?;
                Ok($crate::log::LogStats {
                    size: size as u64,
                    sealed: sealed as u64,
                    batches: batches as u64,
                    anchored_batches: anchored as u64,
                    final_batches: finals as u64,
                })
            }

            async fn unsealed(&self) -> Result<$crate::log::Unsealed, $crate::log::StoreError> {
                use $crate::log::rows::sql;
                let (size, sealed): (i64, i64) =
                    sqlx::query_as(sql::LOG_STATE).fetch_one(&self.pool).await?;
                let next_batch_id: i64 = sqlx::query_scalar(sql::NEXT_BATCH_ID)
                    .fetch_one(&self.pool)
                    .await?;
                let oldest: Option<i64> = sqlx::query_scalar(sql::RECORDED_AT)
                    .bind(sealed)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok($crate::log::Unsealed {
                    first_index: sealed as u64,
                    count: (size - sealed) as u64,
                    oldest_recorded_at_ms: oldest,
                    next_batch_id: next_batch_id as u64,
                })
            }

            async fn leaves(
                &self,
                first_index: u64,
                count: u64,
            ) -> Result<Vec<$crate::protocol::Hash32>, $crate::log::StoreError> {
                use $crate::log::rows::sql;
                let rows: Vec<Vec<u8>> = sqlx::query_scalar(sql::LEAVES)
                    .bind(first_index as i64)
                    .bind((first_index + count) as i64)
                    .fetch_all(&self.pool)
                    .await?;
                if rows.len() as u64 != count {
                    return Err($crate::log::StoreError::corrupt(format!(
                        "expected {count} leaves from index {first_index}, found {}",
                        rows.len()
                    )));
                }
                rows.iter()
                    .map(|l| $crate::log::hash_from(l, "leaf"))
                    .collect()
            }

            async fn index_range_by_time(
                &self,
                from_ms: i64,
                to_ms: i64,
            ) -> Result<Option<(u64, u64)>, $crate::log::StoreError> {
                use $crate::log::rows::sql;
                let (lo, hi): (Option<i64>, Option<i64>) = sqlx::query_as(sql::INDEX_RANGE_BY_TIME)
                    .bind(from_ms)
                    .bind(to_ms)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(lo.zip(hi).map(|(a, b)| (a as u64, b as u64)))
            }

            async fn commit_batch(
                &self,
                batch: $crate::log::NewBatch,
            ) -> Result<(), $crate::log::StoreError> {
                use $crate::log::StoreError;
                use $crate::log::rows::sql;
                let count = batch.paths.len() as i64;
                let end = batch.first_index as i64 + count;
                let (mut tx, _guard) = self.begin_write().await?;
                // Guard: the batch must start exactly where sealing stopped
                // and be the next batch id; anything else means another
                // sealer got there first, and this transaction rolls back.
                let moved = sqlx::query(sql::ADVANCE_SEALED)
                    .bind(end)
                    .bind(batch.first_index as i64)
                    .execute(&mut *tx)
                    .await?;
                let next_batch_id: i64 = sqlx::query_scalar(sql::NEXT_BATCH_ID)
                    .fetch_one(&mut *tx)
                    .await?;
                if moved.rows_affected() != 1 || next_batch_id as u64 != batch.id {
                    return Err(StoreError::Contended {
                        expected: format!(
                            "batch {} starting at index {}",
                            batch.id, batch.first_index
                        ),
                    });
                }
                sqlx::query(sql::INSERT_BATCH)
                    .bind(batch.id as i64)
                    .bind(batch.first_index as i64)
                    .bind(count)
                    .bind(batch.root.0.to_vec())
                    .bind(batch.head.0.to_vec())
                    .bind(batch.sealed_at_ms)
                    .execute(&mut *tx)
                    .await?;
                Self::insert_paths(&mut tx, &batch).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn batch(
                &self,
                id: u64,
            ) -> Result<Option<$crate::log::Batch>, $crate::log::StoreError> {
                use $crate::log::rows::{BatchRow, sql};
                let row: Option<BatchRow> = sqlx::query_as(sql::BATCH_BY_ID)
                    .bind(id as i64)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn batches(
                &self,
                from_id: u64,
                limit: u64,
            ) -> Result<Vec<$crate::log::Batch>, $crate::log::StoreError> {
                use $crate::log::rows::{BatchRow, sql};
                let rows: Vec<BatchRow> = sqlx::query_as(sql::BATCHES_FROM)
                    .bind(from_id as i64)
                    .bind(limit as i64)
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn first_unfinal_batch(
                &self,
            ) -> Result<Option<$crate::log::Batch>, $crate::log::StoreError> {
                use $crate::log::rows::{BatchRow, sql};
                let row: Option<BatchRow> = sqlx::query_as(sql::FIRST_UNFINAL)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn step_batch(
                &self,
                id: u64,
                from: $crate::log::BatchStatus,
                step: $crate::log::BatchStep,
            ) -> Result<(), $crate::log::StoreError> {
                use $crate::log::BatchStep;
                use $crate::log::rows::sql;
                let from_s = from.as_str();
                let id = id as i64;
                let done = match &step {
                    BatchStep::Submitted(s) => {
                        sqlx::query(sql::STEP_SUBMITTED)
                            .bind(s.tx_hash.0.to_vec())
                            .bind(s.nonce as i64)
                            .bind(s.max_fee_per_gas.to_string())
                            .bind(s.max_priority_fee_per_gas.to_string())
                            .bind(s.at_ms)
                            .bind(id)
                            .bind(from_s)
                            .execute(&self.pool)
                            .await?
                    }
                    BatchStep::Included(i) => {
                        sqlx::query(sql::STEP_INCLUDED)
                            .bind(i.block_number as i64)
                            .bind(i.block_hash.0.to_vec())
                            .bind(i.block_time as i64)
                            .bind(i.at_ms)
                            .bind(id)
                            .bind(from_s)
                            .execute(&self.pool)
                            .await?
                    }
                    BatchStep::Final { at_ms } => {
                        sqlx::query(sql::STEP_FINAL)
                            .bind(*at_ms)
                            .bind(id)
                            .bind(from_s)
                            .execute(&self.pool)
                            .await?
                    }
                    BatchStep::Reset { reason } => {
                        sqlx::query(sql::STEP_RESET)
                            .bind(reason.as_str())
                            .bind(id)
                            .bind(from_s)
                            .execute(&self.pool)
                            .await?
                    }
                };
                if done.rows_affected() != 1 {
                    return Err($crate::log::StoreError::Contended {
                        expected: format!("batch {id} in status {from_s}"),
                    });
                }
                Ok(())
            }

            async fn note_batch_error(
                &self,
                id: u64,
                error: &str,
            ) -> Result<(), $crate::log::StoreError> {
                sqlx::query($crate::log::rows::sql::NOTE_ERROR)
                    .bind(error)
                    .bind(id as i64)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn insert_api_key(
                &self,
                id: &str,
                key_hash: $crate::protocol::Hash32,
                scopes: &[String],
                label: &str,
                now: $crate::protocol::fields::Timestamp,
            ) -> Result<(), $crate::log::StoreError> {
                sqlx::query($crate::log::rows::sql::INSERT_KEY)
                    .bind(id)
                    .bind(key_hash.0.to_vec())
                    .bind(scopes.join(","))
                    .bind(label)
                    .bind(now.to_string())
                    .execute(&self.pool)
                    .await?;
                self.keys.forget_hash(&key_hash);
                Ok(())
            }

            async fn api_key_by_hash(
                &self,
                key_hash: $crate::protocol::Hash32,
            ) -> Result<Option<$crate::log::ApiKey>, $crate::log::StoreError> {
                if let Some(hit) = self.keys.get(&key_hash) {
                    return Ok(hit);
                }
                let row: Option<(String, String, String)> =
                    sqlx::query_as($crate::log::rows::sql::KEY_BY_HASH)
                        .bind(key_hash.0.to_vec())
                        .fetch_optional(&self.pool)
                        .await?;
                let key = row.map(|(id, scopes, label)| $crate::log::ApiKey {
                    id,
                    scopes: $crate::log::split_scopes(&scopes),
                    label,
                });
                self.keys.put(key_hash, key.clone());
                Ok(key)
            }

            async fn list_api_keys(
                &self,
            ) -> Result<Vec<$crate::log::ApiKeyInfo>, $crate::log::StoreError> {
                let rows: Vec<(
                    String,
                    String,
                    String,
                    String,
                    Option<String>,
                    Option<String>,
                )> = sqlx::query_as($crate::log::rows::sql::LIST_KEYS)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, scopes, label, created_at, revoked_at, replaced_by)| {
                        $crate::log::ApiKeyInfo {
                            id,
                            scopes: $crate::log::split_scopes(&scopes),
                            label,
                            created_at,
                            revoked_at,
                            replaced_by,
                        }
                    })
                    .collect())
            }

            async fn revoke_api_key(
                &self,
                id: &str,
                now: $crate::protocol::fields::Timestamp,
            ) -> Result<bool, $crate::log::StoreError> {
                let done = sqlx::query($crate::log::rows::sql::REVOKE_KEY)
                    .bind(now.to_string())
                    .bind(None::<String>)
                    .bind(id)
                    .execute(&self.pool)
                    .await?
                    .rows_affected()
                    == 1;
                self.keys.forget_id(id);
                Ok(done)
            }

            async fn rotate_api_key(
                &self,
                id: &str,
                new_id: &str,
                new_hash: $crate::protocol::Hash32,
                now: $crate::protocol::fields::Timestamp,
            ) -> Result<Option<$crate::log::ApiKeyInfo>, $crate::log::StoreError> {
                let mut tx = self.pool.begin().await?;
                let old: Option<(String, String)> =
                    sqlx::query_as($crate::log::rows::sql::ACTIVE_KEY)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some((scopes, label)) = old else {
                    return Ok(None);
                };
                sqlx::query($crate::log::rows::sql::INSERT_KEY)
                    .bind(new_id)
                    .bind(new_hash.0.to_vec())
                    .bind(&scopes)
                    .bind(&label)
                    .bind(now.to_string())
                    .execute(&mut *tx)
                    .await?;
                let revoked = sqlx::query($crate::log::rows::sql::REVOKE_KEY)
                    .bind(now.to_string())
                    .bind(new_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if revoked != 1 {
                    // Another rotation or revocation got there first.
                    tx.rollback().await?;
                    return Ok(None);
                }
                tx.commit().await?;
                self.keys.forget_id(id);
                self.keys.forget_hash(&new_hash);
                Ok(Some($crate::log::ApiKeyInfo {
                    id: new_id.to_owned(),
                    scopes: $crate::log::split_scopes(&scopes),
                    label,
                    created_at: now.to_string(),
                    revoked_at: None,
                    replaced_by: None,
                }))
            }

            async fn ping(&self) -> Result<(), $crate::log::StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_sql_store;

/// Group commit through sqlx: a handful of multi-row statements per group.
/// PostgreSQL uses it; SQLite has its own path (`sqlite_writer`), because
/// there every sqlx statement is a thread hand-off.
macro_rules! impl_sqlx_group_commit {
    ($store:ty) => {
        impl $store {
            /// Commits a group of appends in one transaction. An append the
            /// rules reject writes nothing and is answered alone; if the
            /// database fails mid-group, every append is retried in its own
            /// transaction, so one bad request never sinks the others.
            async fn commit_group(
                handle: <$store as $crate::log::sql_store::Backend>::WriteHandle,
                jobs: Vec<$crate::log::group::Job>,
            ) {
                let together = async {
                    let (mut tx, _guard) = handle.begin().await.map_err(|e| (e, false))?;
                    let results = Self::append_group(&mut tx, &jobs).await.map_err(|e| (e, false))?;
                    tx.commit().await.map_err(|e| ($crate::log::StoreError::from(e), true))?;
                    Ok(results)
                };
                match together.await {
                    Ok(results) => {
                        for (job, result) in jobs.into_iter().zip(results) {
                            let _ = job.done.send(result);
                        }
                    }
                    // The commit itself failed: whether it landed is unknown
                    // (a lost connection), so nothing may be retried blindly.
                    Err((e, true)) => {
                        tracing::error!(error = %e, appends = jobs.len(), "group commit failed");
                        for job in jobs {
                            let _ = job.done.send(Err(e.for_group()));
                        }
                    }
                    // Rolled back before commit: safe to retry one by one.
                    Err((e, false)) => {
                        tracing::warn!(error = %e, appends = jobs.len(), "group failed; retrying its appends one by one");
                        for job in jobs {
                            let alone = async {
                                let (mut tx, _guard) = handle.begin().await?;
                                let mut results = Self::append_group(&mut tx, std::slice::from_ref(&job)).await?;
                                let result = results.pop().ok_or_else(|| {
                                    $crate::log::StoreError::corrupt("a group of one gave no answer")
                                })?;
                                // A rejection wrote nothing: dropping the
                                // transaction rolls it back.
                                if result.is_ok() {
                                    tx.commit().await?;
                                }
                                result
                            };
                            let result = alone.await;
                            let _ = job.done.send(result);
                        }
                    }
                }
            }

            /// A group of appends inside an open write transaction, with one
            /// set of statements for the whole group: read the keys, the
            /// log's size and the tips; plan (pure, `log::plan`); write the
            /// events, contents, tips, size and keys. The outer error is a
            /// database failure; the inner ones are per-append rejections.
            #[allow(clippy::type_complexity)]
            async fn append_group(
                tx: &mut sqlx::Transaction<'static, <$store as $crate::log::sql_store::Backend>::Db>,
                jobs: &[$crate::log::group::Job],
            ) -> Result<Vec<Result<$crate::log::Appended, $crate::log::StoreError>>, $crate::log::StoreError> {
                use $crate::log::plan::{GroupMember, MemberPlan, plan_group};
                use $crate::log::rows::{TicketRow, sql};
                use $crate::log::sql_store::ROWS_PER_STATEMENT;
                use $crate::log::{StoreError, WriteResult};
                type Db = <$store as $crate::log::sql_store::Backend>::Db;
                let Some(policy) = jobs.first().map(|j| j.policy) else {
                    return Ok(Vec::new());
                };
                let members: Vec<GroupMember<'_>> = jobs
                    .iter()
                    .map(|j| GroupMember { requests: &j.requests, idem: j.idem.as_ref() })
                    .collect();

                let mut known = std::collections::HashMap::new();
                let keys: Vec<&str> = members.iter().filter_map(|m| m.idem.map(|i| i.key.as_str())).collect();
                for chunk in keys.chunks(ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(sql::IDEMPOTENCY_GET_MANY);
                    q.push(" (");
                    let mut list = q.separated(", ");
                    for k in chunk {
                        list.push_bind(*k);
                    }
                    q.push(")");
                    let rows: Vec<(String, Vec<u8>, String)> = q.build_query_as().fetch_all(&mut **tx).await?;
                    for (key, hash, result) in rows {
                        let hash = $crate::log::hash_from(&hash, "idempotency request hash")?;
                        let result: WriteResult = serde_json::from_str(&result).map_err(StoreError::corrupt)?;
                        known.insert(key, (hash, result));
                    }
                }

                let size: i64 = sqlx::query_scalar(sql::LOG_SIZE).fetch_one(&mut **tx).await?;
                // One SELECT per chunk of distinct tickets, not one per
                // ticket: each statement is a round trip to the driver.
                let mut seen = std::collections::HashSet::new();
                let wanted: Vec<&str> = members
                    .iter()
                    .flat_map(|m| m.requests.iter())
                    .filter(|r| seen.insert(&r.ticket))
                    .map(|r| r.ticket.as_str())
                    .collect();
                let mut tips = std::collections::HashMap::with_capacity(wanted.len());
                for chunk in wanted.chunks(ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(sql::TICKETS_BY_HANDLES);
                    q.push(" (");
                    let mut list = q.separated(", ");
                    for h in chunk {
                        list.push_bind(*h);
                    }
                    q.push(")");
                    let rows: Vec<TicketRow> = q.build_query_as().fetch_all(&mut **tx).await?;
                    for row in rows {
                        let ticket: $crate::log::Ticket = row.try_into()?;
                        tips.insert(ticket.handle, ticket.tip);
                    }
                }
                // The clock is read while holding the write lock, so
                // recorded_at never decreases along the log.
                let recorded_at = $crate::protocol::fields::Timestamp::now();
                let mut plan = plan_group(&members, size as u64, tips, known, recorded_at, &policy)?;

                for chunk in plan.events.chunks(ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(sql::INSERT_EVENTS);
                    q.push_values(chunk, |mut row, e| {
                        row.push_bind(e.index as i64)
                            .push_bind(e.ticket.as_str())
                            .push_bind(e.seq as i64)
                            .push_bind(e.record.as_str())
                            .push_bind(e.leaf.0.to_vec())
                            .push_bind(e.recorded_at_ms);
                    });
                    q.build().execute(&mut **tx).await?;
                }
                for chunk in plan.contents.chunks(ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(sql::INSERT_CONTENTS);
                    q.push_values(chunk, |mut row, (index, (salt, body))| {
                        row.push_bind(*index as i64)
                            .push_bind(salt.to_vec())
                            .push_bind(body.as_str());
                    });
                    q.build().execute(&mut **tx).await?;
                }
                // One UPDATE per chunk of tickets, joined to a VALUES list
                // (columns are column1… in both SQLite and PostgreSQL).
                let mut updates = Vec::with_capacity(plan.tips.len());
                for (handle, tip) in &plan.tips {
                    let state = tip
                        .state
                        .as_ref()
                        .map(serde_json::to_string)
                        .transpose()
                        .map_err(StoreError::corrupt)?;
                    updates.push((handle.as_str(), tip.next_seq as i64, tip.last_leaf.0.to_vec(), state));
                }
                for chunk in updates.chunks(ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(sql::UPDATE_TIPS_HEAD);
                    q.push_values(chunk, |mut row, (handle, next_seq, leaf, state)| {
                        row.push_bind(*handle)
                            .push_bind(*next_seq)
                            .push_bind(leaf.clone())
                            .push_bind(state.clone());
                    });
                    q.push(sql::UPDATE_TIPS_TAIL);
                    q.build().execute(&mut **tx).await?;
                }
                if plan.grows_by() > 0 {
                    sqlx::query(sql::GROW_LOG)
                        .bind(plan.grows_by() as i64)
                        .execute(&mut **tx)
                        .await?;
                }
                if !plan.remember.is_empty() {
                    let now = $crate::protocol::fields::Timestamp::now().to_string();
                    let mut rows = Vec::with_capacity(plan.remember.len());
                    for (idem, result) in &plan.remember {
                        let json = serde_json::to_string(result).map_err(StoreError::corrupt)?;
                        rows.push((idem.key.as_str(), idem.request_hash.0.to_vec(), json));
                    }
                    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                        let mut q = sqlx::QueryBuilder::<Db>::new(sql::IDEMPOTENCY_PUT_MANY);
                        q.push_values(chunk, |mut row, (key, hash, json)| {
                            row.push_bind(*key)
                                .push_bind(hash.clone())
                                .push_bind(json.as_str())
                                .push_bind(now.as_str());
                        });
                        q.build().execute(&mut **tx).await?;
                    }
                }

                // Answers: applied members take their events from the plan;
                // a replay (rare) reads its first answer's events back.
                let mut events = plan.events.drain(..);
                let mut answers = Vec::with_capacity(plan.members.len());
                for member in std::mem::take(&mut plan.members) {
                    let replayed = match &member {
                        MemberPlan::Replayed(WriteResult::Events { first_index, count }) => {
                            let rows: Vec<$crate::log::rows::EventRow> = sqlx::query_as(sql::EVENTS_BY_RANGE)
                                .bind(*first_index as i64)
                                .bind((*first_index + *count) as i64)
                                .fetch_all(&mut **tx)
                                .await?;
                            Some(rows.into_iter().map(TryInto::try_into).collect::<Result<Vec<_>, _>>()?)
                        }
                        _ => None,
                    };
                    answers.push(member.answer(&mut events, replayed));
                }
                Ok(answers)
            }
        }
    };
}

pub(crate) use impl_sqlx_group_commit;

/// Rows per multi-row statement: few enough binds for either backend
/// (SQLite allows 32,766, PostgreSQL 65,535), many enough that a bulk
/// append is a handful of round trips to the driver.
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

/// Names the sqlx database type a store runs on.
pub trait Backend {
    type Db: sqlx::Database;
    /// An owned handle that opens write transactions (see `group`).
    type WriteHandle: Clone + Send + Sync + 'static;
}
