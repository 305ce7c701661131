//! `ferry keys`: create, list and revoke API keys, and switch owners off and on,
//! in the data directory's SQLite file or in the DynamoDB table (`--backend aws`).
//!
//! Output contract: `create` prints the key, and only the key, as the last line
//! of stdout; `list` prints one line per key on stdout. Everything meant for a
//! human goes to stderr. Neither ever prints a hash.

use crate::config::database_path;
use crate::db::Db;
use crate::keys::SqliteKeyStore;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use ferry_core::keys::key_id;
use ferry_core::{ApiKeyRecord, KeyStore, NewApiKey};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use time::format_description::well_known::Rfc3339;

/// Scopes of a key created without `--scope`.
pub const DEFAULT_SCOPES: [&str; 2] = ["ferry/jobs.read", "ferry/jobs.write"];

/// Where the keys are kept.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// Where the SQLite file lives (`--backend sqlite`).
    #[arg(long, env = "FERRY_DATA_DIR", default_value = ".ferry")]
    pub data_dir: PathBuf,
    /// `sqlite` (default): the data directory's file, as `ferry serve` uses it.
    /// `aws`: the DynamoDB table FERRY_TABLE, wherever AWS_ENDPOINT_URL /
    /// region / credentials point.
    #[arg(long, env = "FERRY_BACKEND", default_value = "sqlite", value_parser = ["sqlite", "aws"])]
    pub backend: String,
    /// The DynamoDB table of the jobs (`--backend aws`).
    #[arg(long, env = "FERRY_TABLE", required_if_eq("backend", "aws"))]
    pub table: Option<String>,
}

#[derive(Subcommand, Debug, Clone)]
pub enum KeysCommand {
    /// Create a key for an owner and print it (stdout, shown once; only its hash is kept).
    Create {
        /// The owner of the jobs the key creates (like a token's `sub`).
        #[arg(long)]
        owner: String,
        /// A scope the key grants; repeat for several. Default: ferry/jobs.read and ferry/jobs.write.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the keys, oldest first: id, owner, scopes, enabled|revoked, created_at, owner-enabled|owner-disabled.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a key (by its id, as `list` shows it). Fails when there is no such key.
    Revoke {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Stop every key of an owner from authenticating (until `enable-owner`).
    DisableOwner {
        owner: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Let an owner's enabled keys authenticate again.
    EnableOwner {
        owner: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

impl KeysCommand {
    fn store_args(&self) -> &StoreArgs {
        match self {
            KeysCommand::Create { store, .. }
            | KeysCommand::List { store }
            | KeysCommand::Revoke { store, .. }
            | KeysCommand::DisableOwner { store, .. }
            | KeysCommand::EnableOwner { store, .. } => store,
        }
    }
}

/// Opens the store `command` names and runs it, printing to stdout and stderr.
pub async fn run(command: KeysCommand) -> anyhow::Result<()> {
    let store = open(command.store_args()).await?;
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    execute(store.as_ref(), command, &mut out, &mut err).await
}

/// The key store `args` points to: the data directory's SQLite file (created
/// if needed, exactly as `ferry serve` does) or the DynamoDB table.
pub async fn open(args: &StoreArgs) -> anyhow::Result<Box<dyn KeyStore>> {
    if args.backend == "aws" {
        let Some(table) = args.table.as_deref().filter(|t| !t.is_empty()) else {
            bail!("--backend aws needs the table: --table or FERRY_TABLE");
        };
        #[cfg(not(feature = "aws"))]
        return Err(crate::without_aws().context(format!("the key table {table} is in DynamoDB")));
        #[cfg(feature = "aws")]
        return Ok(Box::new(ferry_aws::DynamoKeyStore::new(&ferry_aws::config().await, table)));
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating data directory {}", args.data_dir.display()))?;
    let db = Db::open(&database_path(&args.data_dir))?;
    Ok(Box::new(SqliteKeyStore::new(db)))
}

/// Runs `command` against `store`. `out` gets the machine-readable output
/// (the new key; the key list), `err` the human notes.
pub async fn execute(
    store: &dyn KeyStore,
    command: KeysCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create { owner, scopes, .. } => {
            check_owner(&owner)?;
            let scopes = if scopes.is_empty() { DEFAULT_SCOPES.map(str::to_owned).to_vec() } else { scopes };
            for scope in &scopes {
                if scope.is_empty() || scope.contains(|c: char| c == ',' || c.is_whitespace() || c.is_control()) {
                    bail!("invalid scope {scope:?}: scopes are non-empty, without commas or spaces");
                }
            }
            let new = NewApiKey::generate(&owner, &scopes);
            store.put_key(&new.record).await.context("storing the new key")?;
            writeln!(err, "created API key {}", new.record.id)?;
            writeln!(err, "  owner:  {owner}")?;
            writeln!(err, "  scopes: {}", scopes.join(", "))?;
            if !store.owner_enabled(&owner).await? {
                writeln!(
                    err,
                    "  note: owner {owner} is disabled: no key of theirs works until `ferry keys enable-owner {owner}`"
                )?;
            }
            writeln!(err, "The key is shown once, on stdout; only its hash is stored. Send it as `x-api-key`.")?;
            writeln!(out, "{}", new.key)?;
        }
        KeysCommand::List { .. } => {
            let keys = store.list_keys().await?;
            if keys.is_empty() {
                writeln!(err, "no API keys")?;
            }
            let mut owners: HashMap<String, bool> = HashMap::new();
            for key in &keys {
                let owner_enabled = match owners.get(&key.owner) {
                    Some(enabled) => *enabled,
                    None => {
                        let enabled = store.owner_enabled(&key.owner).await?;
                        owners.insert(key.owner.clone(), enabled);
                        enabled
                    }
                };
                writeln!(out, "{}", list_line(key, owner_enabled))?;
            }
        }
        KeysCommand::Revoke { id, .. } => {
            // A whole key pasted by mistake still names its key.
            let id = key_id(id.trim()).map(str::to_owned).unwrap_or(id);
            if !store.set_key_enabled(&id, false).await? {
                bail!("no API key with id {id:?} (see `ferry keys list`)");
            }
            writeln!(err, "revoked API key {id}")?;
        }
        KeysCommand::DisableOwner { owner, .. } => {
            check_owner(&owner)?;
            store.set_owner_enabled(&owner, false).await?;
            writeln!(
                err,
                "disabled owner {owner}: none of its keys authenticate until `ferry keys enable-owner {owner}`"
            )?;
        }
        KeysCommand::EnableOwner { owner, .. } => {
            check_owner(&owner)?;
            store.set_owner_enabled(&owner, true).await?;
            writeln!(err, "enabled owner {owner}: its enabled keys authenticate again")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `id owner scopes enabled|revoked created_at owner-enabled|owner-disabled`,
/// tab-separated.
fn list_line(key: &ApiKeyRecord, owner_enabled: bool) -> String {
    let scopes = if key.scopes.is_empty() { "-".to_owned() } else { key.scopes.join(",") };
    let created = key.created_at.replace_nanosecond(0).unwrap_or(key.created_at);
    let created = created.format(&Rfc3339).unwrap_or_else(|_| key.created_at.to_string());
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        key.id,
        key.owner,
        scopes,
        if key.enabled { "enabled" } else { "revoked" },
        created,
        if owner_enabled { "owner-enabled" } else { "owner-disabled" },
    )
}

fn check_owner(owner: &str) -> anyhow::Result<()> {
    if owner.is_empty() || owner.contains(|c: char| c.is_whitespace() || c.is_control()) {
        bail!("invalid owner {owner:?}: owners are non-empty, without spaces");
    }
    let max = ferry_core::auth::MAX_SUBJECT_LEN;
    if owner.len() > max {
        bail!("invalid owner: {} bytes, at most {max} (the longest token subject accepted)", owner.len());
    }
    Ok(())
}
