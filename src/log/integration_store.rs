//! Storage of help-desk integrations, their ticket mirrors and the delivery
//! ledger, for both backends. Reached from any `Store` through
//! `Store::integration_store`, so the core trait grows by one method only.

use async_trait::async_trait;

use super::StoreError;
use super::integration_records::{
    Delivery, Integration, MappingOptions, Outcome, SignatureCheck, Vendor,
};

#[async_trait]
pub trait IntegrationStore: Send + Sync {
    /// Stores a new integration; false if the name is taken.
    async fn insert_integration(&self, i: &Integration) -> Result<bool, StoreError>;
    async fn integration(&self, name: &str) -> Result<Option<Integration>, StoreError>;
    /// Replaces an integration's options and trigger secret; false if there
    /// is no integration of that name.
    async fn update_integration(&self, i: &Integration) -> Result<bool, StoreError>;
    async fn integrations(&self) -> Result<Vec<Integration>, StoreError>;

    /// The mirror (JSON) of a vendor ticket, and the Proofdesk handle.
    async fn mirror(
        &self,
        integration: &str,
        vendor_ticket: &str,
    ) -> Result<Option<(String, String)>, StoreError>;
    async fn put_mirror(
        &self,
        integration: &str,
        vendor_ticket: &str,
        handle: &str,
        mirror: &str,
    ) -> Result<(), StoreError>;

    /// The first delivery with this vendor delivery id that was handled
    /// (recorded, unmapped or unchanged), if any.
    async fn handled_delivery(
        &self,
        integration: &str,
        delivery_id: &str,
    ) -> Result<Option<Delivery>, StoreError>;
    /// Appends a ledger row and returns its id.
    async fn record_delivery(&self, d: &Delivery) -> Result<i64, StoreError>;
    /// Ledger rows, newest first, optionally of one outcome, and only
    /// those older than ledger row `before` (to page back). `unmapped`
    /// also lists recorded deliveries part of which did not map.
    async fn deliveries(
        &self,
        integration: &str,
        outcome: Option<Outcome>,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Delivery>, StoreError>;
}

pub(crate) mod sql {
    pub const INSERT: &str = "INSERT INTO integrations (name, vendor, secret, pseudonym_key, options, created_at, second_secret) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING";
    pub const UPDATE: &str =
        "UPDATE integrations SET options = $2, second_secret = $3 WHERE name = $1";
    pub const BY_NAME: &str = "SELECT name, vendor, secret, pseudonym_key, options, created_at, second_secret FROM integrations WHERE name = $1";
    pub const ALL: &str = "SELECT name, vendor, secret, pseudonym_key, options, created_at, second_secret FROM integrations ORDER BY name";
    pub const MIRROR: &str = "SELECT handle, mirror FROM integration_tickets WHERE integration = $1 AND vendor_ticket = $2";
    pub const PUT_MIRROR: &str = "INSERT INTO integration_tickets (integration, vendor_ticket, handle, mirror) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (integration, vendor_ticket) DO UPDATE SET mirror = excluded.mirror";
    const COLS: &str = "id, integration, received_at, delivery_id, signature, body_sha256, outcome, reason, vendor_ticket, ticket, first_index, count, notes, unmapped";
    pub const INSERT_DELIVERY: &str = "INSERT INTO integration_deliveries (integration, received_at, delivery_id, signature, body_sha256, outcome, reason, vendor_ticket, ticket, first_index, count, notes, unmapped) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id";
    pub fn handled() -> String {
        format!(
            "SELECT {COLS} FROM integration_deliveries WHERE integration = $1 AND delivery_id = $2 \
             AND outcome IN ('recorded', 'unmapped', 'unchanged') ORDER BY id LIMIT 1"
        )
    }
    pub fn list() -> String {
        format!(
            "SELECT {COLS} FROM integration_deliveries WHERE integration = $1 \
             AND ($2 IS NULL OR outcome = $2 OR ($2 = 'unmapped' AND unmapped <> '[]')) \
             AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
        )
    }
}

pub(crate) type IntegrationRow = (
    String,
    String,
    String,
    Vec<u8>,
    String,
    String,
    Option<String>,
);

pub(crate) fn integration_from(row: IntegrationRow) -> Result<Integration, StoreError> {
    let (name, vendor, secret, key, options, created_at, second_secret) = row;
    let vendor = Vendor::parse(&vendor)
        .ok_or_else(|| StoreError::corrupt(format!("unknown vendor {vendor:?}")))?;
    let options: MappingOptions = serde_json::from_str(&options)
        .map_err(|e| StoreError::corrupt(format!("integration options: {e}")))?;
    let pseudonym_key: [u8; 32] = key
        .try_into()
        .map_err(|_| StoreError::corrupt("pseudonym key is not 32 bytes"))?;
    Ok(Integration {
        name,
        vendor,
        secret,
        second_secret,
        pseudonym_key,
        options,
        created_at,
    })
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    id: i64,
    integration: String,
    received_at: String,
    delivery_id: Option<String>,
    signature: String,
    body_sha256: Vec<u8>,
    outcome: String,
    reason: Option<String>,
    vendor_ticket: Option<String>,
    ticket: Option<String>,
    first_index: Option<i64>,
    count: Option<i64>,
    notes: String,
    unmapped: String,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> Result<Delivery, StoreError> {
        Ok(Delivery {
            id: r.id,
            integration: r.integration,
            received_at: r.received_at,
            delivery_id: r.delivery_id,
            signature: SignatureCheck::parse(&r.signature)
                .ok_or_else(|| StoreError::corrupt(format!("signature {:?}", r.signature)))?,
            body_sha256: format!("0x{}", hex::encode(r.body_sha256)),
            outcome: Outcome::parse(&r.outcome)
                .ok_or_else(|| StoreError::corrupt(format!("outcome {:?}", r.outcome)))?,
            reason: r.reason,
            vendor_ticket: r.vendor_ticket,
            ticket: r.ticket,
            first_index: r.first_index.map(|v| v as u64),
            count: r.count.map(|v| v as u64),
            notes: serde_json::from_str(&r.notes)
                .map_err(|e| StoreError::corrupt(format!("delivery notes: {e}")))?,
            unmapped: serde_json::from_str(&r.unmapped)
                .map_err(|e| StoreError::corrupt(format!("delivery unmapped: {e}")))?,
        })
    }
}

/// Stamps `IntegrationStore` out for a backend with a `pool()`.
macro_rules! impl_integration_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::log::integration_store::IntegrationStore for $store {
            async fn insert_integration(
                &self,
                i: &$crate::log::integration_records::Integration,
            ) -> Result<bool, $crate::log::StoreError> {
                let options =
                    serde_json::to_string(&i.options).map_err($crate::log::StoreError::corrupt)?;
                let done = sqlx::query(sql::INSERT)
                    .bind(i.name.as_str())
                    .bind(i.vendor.as_str())
                    .bind(i.secret.as_str())
                    .bind(i.pseudonym_key.to_vec())
                    .bind(options)
                    .bind(i.created_at.as_str())
                    .bind(i.second_secret.as_deref())
                    .execute(self.pool())
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn update_integration(
                &self,
                i: &$crate::log::integration_records::Integration,
            ) -> Result<bool, $crate::log::StoreError> {
                let options =
                    serde_json::to_string(&i.options).map_err($crate::log::StoreError::corrupt)?;
                let done = sqlx::query(sql::UPDATE)
                    .bind(i.name.as_str())
                    .bind(options)
                    .bind(i.second_secret.as_deref())
                    .execute(self.pool())
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn integration(
                &self,
                name: &str,
            ) -> Result<
                Option<$crate::log::integration_records::Integration>,
                $crate::log::StoreError,
            > {
                let row: Option<IntegrationRow> = sqlx::query_as(sql::BY_NAME)
                    .bind(name)
                    .fetch_optional(self.pool())
                    .await?;
                row.map(integration_from).transpose()
            }

            async fn integrations(
                &self,
            ) -> Result<Vec<$crate::log::integration_records::Integration>, $crate::log::StoreError>
            {
                let rows: Vec<IntegrationRow> =
                    sqlx::query_as(sql::ALL).fetch_all(self.pool()).await?;
                rows.into_iter().map(integration_from).collect()
            }

            async fn mirror(
                &self,
                integration: &str,
                vendor_ticket: &str,
            ) -> Result<Option<(String, String)>, $crate::log::StoreError> {
                Ok(sqlx::query_as(sql::MIRROR)
                    .bind(integration)
                    .bind(vendor_ticket)
                    .fetch_optional(self.pool())
                    .await?)
            }

            async fn put_mirror(
                &self,
                integration: &str,
                vendor_ticket: &str,
                handle: &str,
                mirror: &str,
            ) -> Result<(), $crate::log::StoreError> {
                sqlx::query(sql::PUT_MIRROR)
                    .bind(integration)
                    .bind(vendor_ticket)
                    .bind(handle)
                    .bind(mirror)
                    .execute(self.pool())
                    .await?;
                Ok(())
            }

            async fn handled_delivery(
                &self,
                integration: &str,
                delivery_id: &str,
            ) -> Result<Option<$crate::log::integration_records::Delivery>, $crate::log::StoreError>
            {
                let row: Option<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql::handled()))
                    .bind(integration)
                    .bind(delivery_id)
                    .fetch_optional(self.pool())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn record_delivery(
                &self,
                d: &$crate::log::integration_records::Delivery,
            ) -> Result<i64, $crate::log::StoreError> {
                let body = hex::decode(d.body_sha256.trim_start_matches("0x"))
                    .map_err($crate::log::StoreError::corrupt)?;
                let notes =
                    serde_json::to_string(&d.notes).map_err($crate::log::StoreError::corrupt)?;
                let unmapped =
                    serde_json::to_string(&d.unmapped).map_err($crate::log::StoreError::corrupt)?;
                let id: i64 = sqlx::query_scalar(sql::INSERT_DELIVERY)
                    .bind(d.integration.as_str())
                    .bind(d.received_at.as_str())
                    .bind(d.delivery_id.as_deref())
                    .bind(d.signature.as_str())
                    .bind(body)
                    .bind(d.outcome.as_str())
                    .bind(d.reason.as_deref())
                    .bind(d.vendor_ticket.as_deref())
                    .bind(d.ticket.as_deref())
                    .bind(d.first_index.map(|v| v as i64))
                    .bind(d.count.map(|v| v as i64))
                    .bind(notes)
                    .bind(unmapped)
                    .fetch_one(self.pool())
                    .await?;
                Ok(id)
            }

            async fn deliveries(
                &self,
                integration: &str,
                outcome: Option<$crate::log::integration_records::Outcome>,
                before: Option<i64>,
                limit: u64,
            ) -> Result<Vec<$crate::log::integration_records::Delivery>, $crate::log::StoreError>
            {
                let rows: Vec<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql::list()))
                    .bind(integration)
                    .bind(outcome.map(|o| o.as_str()))
                    .bind(before)
                    .bind(limit.min(i64::MAX as u64) as i64)
                    .fetch_all(self.pool())
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }
        }
    };
}

impl_integration_store!(super::sqlite::SqliteStore);
impl_integration_store!(super::postgres::PgStore);
