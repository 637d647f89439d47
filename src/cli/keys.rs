//! `proofdesk keys list | revoke ID | rotate ID`: API key management for
//! operators. (`keys create` is in main.rs.) A key is shown in full only
//! once, when it is created or rotated; the database keeps its SHA-256.
//!
//! A revoked key stops working at once on a server that revoked it through
//! the admin API, and within `KEY_CACHE_TTL` (5 s) on every other server.

use std::process::ExitCode;

use proofdesk::log::keycache::KEY_CACHE_TTL;

pub async fn list(database: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = proofdesk::log::connect_existing(database).await?;
    let keys = store.list_api_keys().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&keys)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<14} {:<20} {:<8} {:<26} {:<26} LABEL",
        "ID", "SCOPES", "STATE", "CREATED", "REVOKED"
    );
    for k in &keys {
        let state = match (&k.revoked_at, &k.replaced_by) {
            (None, _) => "active".to_owned(),
            (Some(_), Some(by)) => format!("rotated→{by}"),
            (Some(_), None) => "revoked".to_owned(),
        };
        println!(
            "{:<14} {:<20} {:<8} {:<26} {:<26} {}",
            k.id,
            k.scopes.join(","),
            state,
            k.created_at,
            k.revoked_at.as_deref().unwrap_or("-"),
            k.label
        );
    }
    eprintln!("{} key(s)", keys.len());
    Ok(ExitCode::SUCCESS)
}

pub async fn revoke(database: &str, id: &str) -> anyhow::Result<ExitCode> {
    let store = proofdesk::log::connect_existing(database).await?;
    if proofdesk::api::auth::revoke_key(store.as_ref(), id).await? {
        eprintln!(
            "revoked key {id}; running servers refuse it within {} s",
            KEY_CACHE_TTL.as_secs()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("no active key with id {id}");
        Ok(ExitCode::from(1))
    }
}

pub async fn rotate(database: &str, id: &str) -> anyhow::Result<ExitCode> {
    let store = proofdesk::log::connect_existing(database).await?;
    match proofdesk::api::auth::rotate_key(store.as_ref(), id).await? {
        Some((key, info)) => {
            println!("{key}");
            eprintln!(
                "key {id} is replaced by {} (scopes {}); the old key stops working within {} s; the new key is shown only once",
                info.id,
                info.scopes.join(","),
                KEY_CACHE_TTL.as_secs()
            );
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("no active key with id {id}");
            Ok(ExitCode::from(1))
        }
    }
}
