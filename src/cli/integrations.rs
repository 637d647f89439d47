//! `proofdesk integrations create | update | list | deliveries`: connect a
//! help desk, change its mapping, and read its delivery ledger, straight
//! against the database.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;

use proofdesk::api::integration_admin::{apply_update, describe, options_for};
use proofdesk::integrations::{Integration, Outcome, Vendor};

#[derive(Subcommand)]
pub enum IntegrationsAction {
    /// Create an integration and print its webhook path and secret once.
    Create {
        #[arg(
            long,
            env = "PROOFDESK_DATABASE_URL",
            default_value = "sqlite://proofdesk.db",
            help = super::DATABASE_HELP
        )]
        database: String,
        /// zendesk or zammad.
        #[arg(long)]
        vendor: String,
        /// A code (a-z 0-9 _ . : -): the last segment of the webhook URL.
        #[arg(long)]
        name: String,
        /// Zendesk: the event webhook's signing secret (else read from stdin
        /// with --secret-stdin). Zammad: leave out to have one generated.
        #[arg(long, env = "PROOFDESK_INTEGRATION_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// Read the secret from the first line of standard input.
        #[arg(long)]
        secret_stdin: bool,
        /// Read a second signing secret from the next line of standard
        /// input (Zendesk: the rating trigger webhook's).
        #[arg(long)]
        second_secret_stdin: bool,
        /// Mapping options as JSON, e.g. '{"complaint": true, "category": "crypto"}'.
        #[arg(long)]
        options: Option<String>,
    },
    /// Change an integration's mapping options (members given replace
    /// theirs), or set its second signing secret.
    Update {
        #[arg(
            long,
            env = "PROOFDESK_DATABASE_URL",
            default_value = "sqlite://proofdesk.db",
            help = super::DATABASE_HELP
        )]
        database: String,
        /// The integration's name.
        integration: String,
        /// Options as JSON, e.g. '{"states": {"8": "on_hold"}}'.
        #[arg(long)]
        options: Option<String>,
        /// Read a second signing secret from the first line of standard
        /// input (Zendesk: the rating trigger webhook's; Zammad: the next
        /// one, while rotating).
        #[arg(long)]
        second_secret_stdin: bool,
    },
    /// List integrations (never their secrets).
    List {
        #[arg(
            long,
            env = "PROOFDESK_DATABASE_URL",
            default_value = "sqlite://proofdesk.db",
            help = super::DATABASE_HELP
        )]
        database: String,
        /// Print JSON (an array) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The delivery ledger of an integration, newest first.
    Deliveries {
        #[arg(
            long,
            env = "PROOFDESK_DATABASE_URL",
            default_value = "sqlite://proofdesk.db",
            help = super::DATABASE_HELP
        )]
        database: String,
        /// The integration's name.
        integration: String,
        /// Only this outcome: recorded, duplicate, rejected, unmapped,
        /// unchanged, failed. `unmapped` also lists recorded deliveries part
        /// of which did not map.
        #[arg(long)]
        outcome: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u64,
        /// Only rows older than this ledger id (to page back).
        #[arg(long)]
        before: Option<i64>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(action: IntegrationsAction) -> anyhow::Result<ExitCode> {
    match action {
        IntegrationsAction::Create {
            database,
            vendor,
            name,
            secret,
            secret_stdin,
            second_secret_stdin,
            options,
        } => {
            let vendor = Vendor::parse(&vendor)
                .with_context(|| format!("unknown vendor {vendor:?}: use zendesk or zammad"))?;
            let secret = if secret_stdin {
                Some(stdin_line()?)
            } else {
                secret
            };
            let second_secret = if second_secret_stdin {
                Some(stdin_line()?)
            } else {
                None
            };
            if vendor == Vendor::Zendesk && secret.is_none() {
                bail!(
                    "Zendesk generates the signing secret: create the webhook in Zendesk first, reveal its secret, and pass it with --secret-stdin"
                );
            }
            let options = match options {
                Some(text) => Some(serde_json::from_str(&text).context("--options is not JSON")?),
                None => None,
            };
            let options = options_for(vendor, options.as_ref()).map_err(anyhow::Error::msg)?;
            let mut integration = Integration::new(&name, vendor, secret, options)?;
            if let Some(second) = second_secret {
                integration.set_second_secret(second)?;
            }
            let store = proofdesk::log::connect_existing(&database).await?;
            if !store
                .integration_store()
                .insert_integration(&integration)
                .await?
            {
                bail!("an integration named {name:?} exists already");
            }
            println!("webhook path: {}", integration.webhook_path());
            if vendor == Vendor::Zammad {
                println!("secret:       {}", integration.secret);
                eprintln!(
                    "paste the secret into Zammad's webhook as the HMAC SHA1 Signature Token; it is shown only once"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        IntegrationsAction::Update {
            database,
            integration,
            options,
            second_secret_stdin,
        } => {
            let options: Option<serde_json::Value> = match options {
                Some(text) => Some(serde_json::from_str(&text).context("--options is not JSON")?),
                None => None,
            };
            let second_secret = if second_secret_stdin {
                Some(stdin_line()?)
            } else {
                None
            };
            let store = proofdesk::log::connect_existing(&database).await?;
            let ledger = store.integration_store();
            let mut i = ledger
                .integration(&integration)
                .await?
                .with_context(|| format!("no integration named {integration:?}"))?;
            apply_update(&mut i, options.as_ref(), second_secret).map_err(anyhow::Error::msg)?;
            ledger.update_integration(&i).await?;
            println!("{}", describe(&i));
            Ok(ExitCode::SUCCESS)
        }
        IntegrationsAction::List { database, json } => {
            let store = proofdesk::log::connect_existing(&database).await?;
            let all = store.integration_store().integrations().await?;
            if json {
                let views: Vec<_> = all.iter().map(describe).collect();
                println!("{}", serde_json::to_string_pretty(&views)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{:<20} {:<8} {:<44} {:<14} CREATED",
                "NAME", "VENDOR", "WEBHOOK PATH", "SECOND SECRET"
            );
            for i in &all {
                println!(
                    "{:<20} {:<8} {:<44} {:<14} {}",
                    i.name,
                    i.vendor,
                    i.webhook_path(),
                    if i.second_secret.is_some() {
                        "set"
                    } else {
                        "-"
                    },
                    i.created_at
                );
            }
            eprintln!("{} integration(s)", all.len());
            Ok(ExitCode::SUCCESS)
        }
        IntegrationsAction::Deliveries {
            database,
            integration,
            outcome,
            limit,
            before,
            json,
        } => {
            let outcome = match outcome {
                Some(o) => Some(Outcome::parse(&o).with_context(|| {
                    format!("unknown outcome {o:?}: use recorded, duplicate, rejected, unmapped, unchanged or failed")
                })?),
                None => None,
            };
            let store = proofdesk::log::connect_existing(&database).await?;
            let ledger = store.integration_store();
            if ledger.integration(&integration).await?.is_none() {
                bail!("no integration named {integration:?}");
            }
            let rows = ledger
                .deliveries(&integration, outcome, before, limit.clamp(1, 100_000))
                .await?;
            for d in rows {
                if json {
                    println!("{}", serde_json::to_string(&d)?);
                    continue;
                }
                let where_ = match (&d.ticket, d.first_index, d.count) {
                    (Some(t), Some(i), Some(c)) => format!("{t} indices {i}..{}", i + c),
                    (Some(t), _, _) => t.clone(),
                    _ => "-".into(),
                };
                println!(
                    "#{} {} {} delivery={} signature={} vendor_ticket={} {}",
                    d.id,
                    d.received_at,
                    d.outcome.as_str(),
                    d.delivery_id.as_deref().unwrap_or("-"),
                    d.signature.as_str(),
                    d.vendor_ticket.as_deref().unwrap_or("-"),
                    where_,
                );
                if let Some(r) = &d.reason {
                    println!("    reason: {r}");
                }
                for n in &d.notes {
                    println!("    note: {n}");
                }
                for u in &d.unmapped {
                    println!("    unmapped ({}): {}", u.reason.as_str(), u.detail);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One line of standard input, trimmed (a secret pasted there stays out of
/// the shell history and the process list).
fn stdin_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}
