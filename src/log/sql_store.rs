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
            ) -> Result<$crate::log::Outcome, $crate::log::StoreError> {
                let handle = self.write_handle();
                self.group
                    .submit(requests, idem, policy, move |jobs| Self::commit_group(handle, jobs))
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
                let rows: Vec<(String, String, String, String, Option<String>, Option<String>)> =
                    sqlx::query_as($crate::log::rows::sql::LIST_KEYS)
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

        impl $store {
            /// Commits a group of appends in one transaction. An append the
            /// rules reject writes nothing and is answered alone; if the
            /// database fails mid-group, every append is retried in its own
            /// transaction, so one bad request never sinks the others.
            async fn commit_group(
                handle: <$store as $crate::log::sql_store::Backend>::WriteHandle,
                jobs: Vec<$crate::log::group::Job>,
            ) {
                let mut results = Vec::with_capacity(jobs.len());
                let together = async {
                    let (mut tx, _guard) = handle.begin().await.map_err(|e| (e, false))?;
                    for job in &jobs {
                        match Self::append_in(&mut tx, &job.requests, job.idem.as_ref(), &job.policy).await {
                            Ok(outcome) => results.push(Ok(outcome)),
                            Err(e) if e.is_rejection() => results.push(Err(e)),
                            Err(e) => return Err((e, false)),
                        }
                    }
                    tx.commit().await.map_err(|e| ($crate::log::StoreError::from(e), true))
                };
                match together.await {
                    Ok(()) => {
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
                                let outcome = Self::append_in(&mut tx, &job.requests, job.idem.as_ref(), &job.policy).await?;
                                tx.commit().await?;
                                Ok(outcome)
                            };
                            let _ = job.done.send(alone.await);
                        }
                    }
                }
            }

            /// One append inside an open write transaction. Everything that
            /// can reject it is checked before its first write.
            async fn append_in(
                tx: &mut sqlx::Transaction<'static, <$store as $crate::log::sql_store::Backend>::Db>,
                requests: &[$crate::log::AppendRequest],
                idem: Option<&$crate::log::Idempotency>,
                policy: &$crate::protocol::state::Policy,
            ) -> Result<$crate::log::Outcome, $crate::log::StoreError> {
                use $crate::log::rows::{TicketRow, sql};
                use $crate::log::{Outcome, StoreError, WriteResult};
                if let Some(idem) = idem {
                    if let Some(previous) = Self::idempotent_result(tx, idem).await? {
                        return Ok(Outcome::Replayed(previous));
                    }
                }
                let size: i64 = sqlx::query_scalar(sql::LOG_SIZE)
                    .fetch_one(&mut **tx)
                    .await?;
                // One SELECT per chunk of distinct tickets, not one per ticket:
                // each statement is a round trip to the driver.
                let mut wanted: Vec<&str> = Vec::new();
                let mut seen = std::collections::HashSet::new();
                for req in requests {
                    if seen.insert(&req.ticket) {
                        wanted.push(req.ticket.as_str());
                    }
                }
                let mut tips = std::collections::HashMap::new();
                for chunk in wanted.chunks($crate::log::sql_store::ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<<Self as $crate::log::sql_store::Backend>::Db>::new(
                        sql::TICKETS_BY_HANDLES,
                    );
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
                // A ticket that was not found has no tip: planning rejects
                // the first request naming it.
                // The clock is read while holding the write lock, so
                // recorded_at never decreases along the log.
                let recorded_at = $crate::protocol::fields::Timestamp::now();
                let plan = $crate::log::plan::plan_appends(
                    requests,
                    size as u64,
                    tips,
                    recorded_at,
                    policy,
                )?;
                let count = plan.events.len() as i64;
                for chunk in plan.events.chunks($crate::log::sql_store::ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<<Self as $crate::log::sql_store::Backend>::Db>::new(
                        sql::INSERT_EVENTS,
                    );
                    let canonical = chunk
                        .iter()
                        .map(|ev| std::str::from_utf8(&ev.hashed.canonical))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(StoreError::corrupt)?;
                    q.push_values(chunk.iter().zip(canonical), |mut row, (ev, canonical)| {
                        let r = &ev.hashed.record;
                        row.push_bind(r.index as i64)
                            .push_bind(r.ticket.as_str())
                            .push_bind(r.seq as i64)
                            .push_bind(canonical)
                            .push_bind(ev.hashed.leaf.0.to_vec())
                            .push_bind(r.recorded_at.millis());
                    });
                    q.build().execute(&mut **tx).await?;
                    let with_content: Vec<_> = chunk
                        .iter()
                        .filter_map(|ev| ev.content.map(|c| (ev.hashed.record.index, c)))
                        .collect();
                    if !with_content.is_empty() {
                        let mut q = sqlx::QueryBuilder::<<Self as $crate::log::sql_store::Backend>::Db>::new(
                            sql::INSERT_CONTENTS,
                        );
                        q.push_values(with_content, |mut row, (index, (salt, body))| {
                            row.push_bind(index as i64)
                                .push_bind(salt.to_vec())
                                .push_bind(body.as_str());
                        });
                        q.build().execute(&mut **tx).await?;
                    }
                }
                // One UPDATE per chunk of tickets, joined to a VALUES list
                // (columns are column1… in both SQLite and PostgreSQL).
                let mut updates = Vec::with_capacity(plan.tips.len());
                for (handle, tip) in &plan.tips {
                    let state = tip
                        .state
                        .as_ref()
                        .map(|s| serde_json::to_string(s))
                        .transpose()
                        .map_err(StoreError::corrupt)?;
                    updates.push((handle.as_str(), tip.next_seq as i64, tip.last_leaf.0.to_vec(), state));
                }
                for chunk in updates.chunks($crate::log::sql_store::ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<<Self as $crate::log::sql_store::Backend>::Db>::new(
                        sql::UPDATE_TIPS_HEAD,
                    );
                    q.push_values(chunk, |mut row, (handle, next_seq, leaf, state)| {
                        row.push_bind(*handle)
                            .push_bind(*next_seq)
                            .push_bind(leaf.clone())
                            .push_bind(state.clone());
                    });
                    q.push(sql::UPDATE_TIPS_TAIL);
                    q.build().execute(&mut **tx).await?;
                }
                sqlx::query(sql::GROW_LOG)
                    .bind(count)
                    .execute(&mut **tx)
                    .await?;
                let result = WriteResult::Events {
                    first_index: size as u64,
                    count: count as u64,
                };
                if let Some(idem) = idem {
                    Self::remember(tx, idem, &result).await?;
                }
                Ok(Outcome::Applied(result))
            }

            async fn idempotent_result(
                tx: &mut sqlx::Transaction<
                    'static,
                    <$store as $crate::log::sql_store::Backend>::Db,
                >,
                idem: &$crate::log::Idempotency,
            ) -> Result<Option<$crate::log::WriteResult>, $crate::log::StoreError> {
                let row: Option<(Vec<u8>, String)> =
                    sqlx::query_as($crate::log::rows::sql::IDEMPOTENCY_GET)
                        .bind(idem.key.as_str())
                        .fetch_optional(&mut **tx)
                        .await?;
                match row {
                    None => Ok(None),
                    Some((hash, _)) if hash != idem.request_hash.0.to_vec() => {
                        Err($crate::log::StoreError::IdempotencyConflict {
                            key: idem.key.clone(),
                        })
                    }
                    Some((_, result)) => serde_json::from_str(&result)
                        .map(Some)
                        .map_err($crate::log::StoreError::corrupt),
                }
            }

            async fn remember(
                tx: &mut sqlx::Transaction<
                    'static,
                    <$store as $crate::log::sql_store::Backend>::Db,
                >,
                idem: &$crate::log::Idempotency,
                result: &$crate::log::WriteResult,
            ) -> Result<(), $crate::log::StoreError> {
                let json =
                    serde_json::to_string(result).map_err($crate::log::StoreError::corrupt)?;
                sqlx::query($crate::log::rows::sql::IDEMPOTENCY_PUT)
                    .bind(idem.key.as_str())
                    .bind(idem.request_hash.0.to_vec())
                    .bind(json)
                    .bind($crate::protocol::fields::Timestamp::now().to_string())
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_sql_store;

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
