//! Receipt signing for accepted events (receipt v2, PROTOCOL.md §12).
//!
//! One signature covers a whole group of receipts. Requests hand their
//! receipts to one signer task; while it signs a group, new receipts queue
//! up, and the next signature covers all of them. Like group commit, the
//! batching needs no timer: a lone request is signed at once, and under load
//! each signature covers more receipts.

use tokio::sync::{mpsc, oneshot};

use super::signing::{SignError, sign_group};
use crate::anchor::OperatorKey;
use crate::protocol::receipt::{Receipt, SignedReceipt};

/// Receipts per signature at most (bounds the tree built per group).
const MAX_GROUP: usize = 1 << 16;

struct Job {
    receipts: Vec<Receipt>,
    reply: oneshot::Sender<Result<Vec<SignedReceipt>, String>>,
}

#[derive(Clone)]
pub struct ReceiptSigner {
    jobs: mpsc::Sender<Job>,
}

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("the receipt signer has stopped")]
    Stopped,
    #[error("signing receipts failed: {0}")]
    Sign(String),
}

impl ReceiptSigner {
    /// Starts the signer task; it ends when every handle is dropped.
    pub fn start(key: OperatorKey) -> ReceiptSigner {
        let (jobs, mut queue) = mpsc::channel::<Job>(4096);
        tokio::spawn(async move {
            while let Some(first) = queue.recv().await {
                let mut size = first.receipts.len();
                let mut group = vec![first];
                while size < MAX_GROUP {
                    match queue.try_recv() {
                        Ok(job) => {
                            size += job.receipts.len();
                            group.push(job);
                        }
                        Err(_) => break,
                    }
                }
                let all: Vec<Receipt> = group
                    .iter()
                    .flat_map(|j| j.receipts.iter().cloned())
                    .collect();
                let key = key.clone();
                // Hashing and one ECDSA signature: CPU work, off the async workers.
                let signed = tokio::task::spawn_blocking(move || sign_group(&key, all))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.map_err(|e: SignError| e.to_string()));
                match signed {
                    Ok(mut signed) => {
                        for job in group {
                            let rest = signed.split_off(job.receipts.len());
                            let mine = std::mem::replace(&mut signed, rest);
                            let _ = job.reply.send(Ok(mine));
                        }
                    }
                    Err(e) => {
                        for job in group {
                            let _ = job.reply.send(Err(e.clone()));
                        }
                    }
                }
            }
        });
        ReceiptSigner { jobs }
    }

    /// Signs `receipts` (each `v = 2`), in one group with whatever else is
    /// waiting. Returns them in the same order.
    pub async fn sign(&self, receipts: Vec<Receipt>) -> Result<Vec<SignedReceipt>, SignerError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { receipts, reply })
            .await
            .map_err(|_| SignerError::Stopped)?;
        answer
            .await
            .map_err(|_| SignerError::Stopped)?
            .map_err(SignerError::Sign)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Hash32;
    use crate::protocol::fields::{TicketHandle, Timestamp};
    use crate::protocol::receipt::RECEIPT_V2;
    use crate::verify::receipt::signer_of;

    fn receipt(index: u64) -> Receipt {
        Receipt {
            v: RECEIPT_V2,
            ticket: TicketHandle::from_random([index as u8; 16]),
            index,
            seq: 0,
            leaf: Hash32([index as u8; 32]),
            recorded_at: Timestamp::from_millis(1_000).unwrap(),
            anchor_deadline: Timestamp::from_millis(61_000).unwrap(),
            chain_id: 31337,
            contract: format!("0x{}", "cd".repeat(20)),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_signatures_and_get_their_own_receipts() {
        let key = OperatorKey::parse(crate::devnet::DEV_KEYS[0]).unwrap();
        let signer = ReceiptSigner::start(key.clone());
        let tasks: Vec<_> = (0..64u64)
            .map(|i| {
                let s = signer.clone();
                tokio::spawn(async move { s.sign(vec![receipt(2 * i), receipt(2 * i + 1)]).await })
            })
            .collect();
        let mut signatures = std::collections::HashSet::new();
        for (i, t) in tasks.into_iter().enumerate() {
            let got = t.await.unwrap().unwrap();
            assert_eq!(got.len(), 2);
            for (k, r) in got.iter().enumerate() {
                assert_eq!(
                    r.receipt.index,
                    2 * i as u64 + k as u64,
                    "each gets its own"
                );
                assert_eq!(signer_of(r).unwrap(), key.address());
                signatures.insert(r.signature.clone());
            }
        }
        assert!(
            signatures.len() <= 64,
            "never more signatures than requests"
        );
    }
}
