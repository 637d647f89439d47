//! The `Store` implementation shared by the SQLite and PostgreSQL backends.
//!
//! Both speak the same SQL (see `rows::sql`) and differ in how a write
//! transaction serialises against other writers, which each backend supplies
//! as `begin_write`, and on their two hot paths, each taken its fastest way
//! per backend: appends (`commit_group`: `sqlite_writer`, `postgres_writer`,
//! both planned by `log::plan`) and reads (`read_ticket_proof`,
//! `read_ticket`, `read_ticket_counts`, `attach_paths` and the sealer's
//! `read_entries`: `sqlite_reader`, and one stable statement on
//! PostgreSQL). Each backend also says whether it keeps its own marks of
//! the tickets it writes (`own_changes`, `ticket_changes`).
//!
//! A macro stamps the impl out per concrete sqlx database type, because
//! sqlx's generic executor bounds would otherwise cost more code than they
//! save.

macro_rules! impl_sql_store {
    ($store:ty, $db:ty, $name:literal) => {
        impl $store {
            /// Derives the tiles of batches sealed before tiles existed
            /// (migration 0006) from their leaves, and drops their
            /// event_paths rows. A batch whose leaves no longer give its
            /// root is left alone and logged: its proofs fail loudly, and
            /// an audit finds it, rather than tiles being made to fit.
            pub(crate) async fn backfill_tiles(&self) -> Result<(), $crate::log::StoreError> {
                use $crate::log::rows::sql;
                let ids: Vec<i64> = sqlx::query_scalar(sql::BATCHES_WITHOUT_TILES)
                    .fetch_all(&self.pool)
                    .await?;
                for id in ids {
                    let Some(batch) = $crate::log::Store::batch(self, id as u64).await? else {
                        continue;
                    };
                    let leaves =
                        $crate::log::Store::leaves(self, batch.first_index, batch.count).await?;
                    let tree = $crate::protocol::tree::BatchTree::from_leaves(leaves)
                        .map_err($crate::log::StoreError::corrupt)?;
                    if tree.root() != batch.root {
                        tracing::error!(
                            batch = id,
                            "the batch's leaves do not give its root; its tiles are not derived"
                        );
                        continue;
                    }
                    let (mut tx, _guard) = self.begin_write().await?;
                    // Another node may have done it meanwhile.
                    let done: i64 = sqlx::query_scalar(sql::TILE_COUNT)
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                    if done == 0 {
                        Self::insert_tiles(&mut tx, id as u64, &$crate::log::tiles::tiles(&tree))
                            .await?;
                    }
                    sqlx::query(sql::DROP_LEGACY_PATHS)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    tracing::info!(
                        batch = id,
                        "derived the tiles of a batch sealed before tiles"
                    );
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::log::Store for $store {
            fn backend(&self) -> &'static str {
                $name
            }

            fn integration_store(&self) -> &dyn $crate::log::integration_store::IntegrationStore {
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
                self.read_ticket(handle).await
            }

            async fn ticket_counts(
                &self,
                handles: &[$crate::protocol::fields::TicketHandle],
            ) -> Result<Vec<Option<u64>>, $crate::log::StoreError> {
                self.read_ticket_counts(handles).await
            }

            fn ticket_changes(&self) -> Option<&$crate::log::ticket_changes::TicketChanges> {
                self.own_changes()
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

            async fn ticket_proof(
                &self,
                handle: &$crate::protocol::fields::TicketHandle,
            ) -> Result<$crate::log::TicketProof, $crate::log::StoreError> {
                self.read_ticket_proof(handle).await
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
                self.attach_paths(rows).await
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

            async fn entries(
                &self,
                first_index: u64,
                count: u64,
            ) -> Result<Vec<$crate::log::LogEntry>, $crate::log::StoreError> {
                let entries = self.read_entries(first_index, count).await?;
                if entries.len() as u64 != count {
                    return Err($crate::log::StoreError::corrupt(format!(
                        "expected {count} entries from index {first_index}, found {}",
                        entries.len()
                    )));
                }
                Ok(entries)
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
                let count = batch.count as i64;
                let end = batch.first_index as i64 + count;
                let contended = || StoreError::Contended {
                    expected: format!("batch {} starting at index {}", batch.id, batch.first_index),
                };
                // The batch and its tiles first, the log's sealed mark last:
                // on PostgreSQL that mark is in the counter row every append
                // locks, so appends wait only for the end of this
                // transaction, not for the tiles (`begin_seal`).
                let (mut tx, _guard) = self.begin_seal().await?;
                let inserted = sqlx::query(sql::INSERT_BATCH)
                    .bind(batch.id as i64)
                    .bind(batch.first_index as i64)
                    .bind(count)
                    .bind(batch.root.0.to_vec())
                    .bind(batch.head.0.to_vec())
                    .bind(batch.sealed_at_ms)
                    .bind(batch.map_root.map(|m| m.0.to_vec()))
                    .execute(&mut *tx)
                    .await;
                match inserted {
                    // Another sealer committed this batch id first.
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        return Err(contended());
                    }
                    other => other?,
                };
                Self::insert_tiles(&mut tx, batch.id, &batch.tiles).await?;
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
                if moved.rows_affected() != 1 || next_batch_id as u64 != batch.id + 1 {
                    return Err(contended());
                }
                tx.commit().await?;
                Ok(())
            }

            async fn import_batch(
                &self,
                imported: $crate::log::import::ImportedBatch,
            ) -> Result<(), $crate::log::StoreError> {
                use $crate::log::StoreError;
                use $crate::log::rows::sql;
                let b = &imported.batch;
                let end = b.first_index + b.count;
                imported.check_shape()?;
                let (mut tx, _guard) = self.begin_write().await?;
                let (size, sealed): (i64, i64) =
                    sqlx::query_as(sql::LOG_STATE).fetch_one(&mut *tx).await?;
                let next_batch_id: i64 = sqlx::query_scalar(sql::NEXT_BATCH_ID)
                    .fetch_one(&mut *tx)
                    .await?;
                if sealed as u64 != b.first_index || next_batch_id as u64 != b.id {
                    return Err(StoreError::Contended {
                        expected: format!(
                            "batch {} starting at index {}, but the log's next batch is {next_batch_id} at index {sealed}",
                            b.id, b.first_index
                        ),
                    });
                }
                // Records a restored store kept must be the ones the chain
                // anchored: one range read, compared leaf for leaf.
                let kept = imported
                    .records
                    .iter()
                    .take_while(|r| (r.index as i64) < size)
                    .count();
                if kept > 0 {
                    let held: Vec<Vec<u8>> = sqlx::query_scalar(sql::LEAVES)
                        .bind(b.first_index as i64)
                        .bind((b.first_index + kept as u64) as i64)
                        .fetch_all(&mut *tx)
                        .await?;
                    let differs = imported.records[..kept]
                        .iter()
                        .zip(held.iter().map(Some).chain(std::iter::repeat(None)))
                        .find(|(r, h)| h.is_none_or(|h| *h != r.leaf.0));
                    if let Some((r, _)) = differs {
                        return Err(StoreError::corrupt(format!(
                            "this store holds another record at index {} than the one the chain anchored: it is not a copy of this log",
                            r.index
                        )));
                    }
                }
                // Multi-row statements, tips first (records name their
                // ticket): a statement per row was a round trip each, most
                // of a mirror's catch-up on SQLite (BENCHMARKS.md, "What
                // measuring changed").
                let states = imported
                    .tips
                    .iter()
                    .map(|t| t.tip.state.as_ref().map(serde_json::to_string).transpose())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(StoreError::corrupt)?;
                for chunk in imported
                    .tips
                    .iter()
                    .zip(&states)
                    .collect::<Vec<_>>()
                    .chunks($crate::log::sql_store::ROWS_PER_STATEMENT)
                {
                    let mut q = sqlx::QueryBuilder::<$db>::new(sql::UPSERT_TIPS);
                    q.push_values(chunk, |mut row, (t, state)| {
                        row.push_bind(t.handle.as_str())
                            .push_bind(t.external_id.as_str())
                            .push_bind(t.created_at.as_str())
                            .push_bind(t.tip.next_seq as i64)
                            .push_bind(t.tip.last_leaf.0.as_slice())
                            .push_bind(state.as_deref());
                    });
                    q.push(sql::UPSERT_TIPS_TAIL);
                    q.build().execute(&mut *tx).await?;
                }
                let fresh = &imported.records[kept..];
                for chunk in fresh.chunks($crate::log::sql_store::ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(sql::INSERT_EVENTS);
                    q.push_values(chunk, |mut row, r| {
                        row.push_bind(r.index as i64)
                            .push_bind(r.ticket.as_str())
                            .push_bind(r.seq as i64)
                            .push_bind(r.record.as_str())
                            .push_bind(r.leaf.0.as_slice())
                            .push_bind(r.recorded_at_ms);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                let a = &imported.anchored;
                let at_ms = (a.block_time as i64).saturating_mul(1000);
                sqlx::query(sql::INSERT_FINAL_BATCH)
                    .bind(b.id as i64)
                    .bind(b.first_index as i64)
                    .bind(b.count as i64)
                    .bind(b.root.0.to_vec())
                    .bind(b.head.0.to_vec())
                    .bind(b.sealed_at_ms)
                    .bind(a.tx.0.to_vec())
                    .bind(a.nonce as i64)
                    .bind(a.max_fee_per_gas.to_string())
                    .bind(a.max_priority_fee_per_gas.to_string())
                    .bind(at_ms)
                    .bind(a.block_number as i64)
                    .bind(a.block_hash.0.to_vec())
                    .bind(a.block_time as i64)
                    .bind(at_ms)
                    .bind(at_ms)
                    .bind(b.map_root.map(|m| m.0.to_vec()))
                    .execute(&mut *tx)
                    .await?;
                Self::insert_tiles(&mut tx, b.id, &b.tiles).await?;
                sqlx::query(sql::SET_LOG_STATE)
                    .bind(size.max(end as i64))
                    .bind(end as i64)
                    .execute(&mut *tx)
                    .await?;
                let committed = tx.commit().await;
                // However the commit ended: one that failed may have landed.
                if let Some(changes) = self.own_changes() {
                    changes.written(imported.tips.iter().map(|t| &t.handle));
                }
                committed?;
                Ok(())
            }

            async fn all_tickets(
                &self,
            ) -> Result<Vec<$crate::log::Ticket>, $crate::log::StoreError> {
                use $crate::log::rows::{TicketRow, sql};
                let rows: Vec<TicketRow> = sqlx::query_as(sql::ALL_TICKETS)
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
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
                // A write transaction from the start: on SQLite a deferred
                // one that reads and then writes fails with
                // SQLITE_BUSY_SNAPSHOT when another process (the running
                // server, beside `proofdesk keys rotate`) committed between
                // the two, and a busy timeout does not help.
                let (mut tx, _guard) = self.begin_write().await?;
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
                self.room_to_write()
            }
        }
    };
}

pub(crate) use impl_sql_store;

/// Rows per multi-row statement (SQLite's batch tiles): few enough binds
/// (SQLite allows 32,766), many enough that a batch is a handful of round
/// trips to the driver.
pub(crate) const ROWS_PER_STATEMENT: usize = 500;
