//! `ferry keys` through the real binary on a temporary data directory, and
//! `SqliteKeyStore` directly.

use ferry_core::keys::{key_id, key_matches};
use ferry_core::{ApiKeyRecord, KeyStore, NewApiKey};
use ferry_local::db::Db;
use ferry_local::keys::SqliteKeyStore;
use std::path::Path;
use std::process::{Command, Output};

const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

/// Runs `ferry keys ARGS --data-dir DIR` with no backend settings inherited
/// from the environment.
fn keys(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(FERRY)
        .arg("keys")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("FERRY_BACKEND")
        .env_remove("FERRY_TABLE")
        .env_remove("FERRY_DATA_DIR")
        .env("FERRY_LOG", "warn")
        .output()
        .expect("ferry runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn ok(output: Output) -> Output {
    assert!(output.status.success(), "ferry failed: {:?}\nstderr: {}", output.status, stderr(&output));
    output
}

/// Creates a key and returns (id, key), checking that stdout holds the key and only it.
fn create(data_dir: &Path, args: &[&str]) -> (String, String) {
    let output = ok(keys(data_dir, &[&["create"], args].concat()));
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "stdout holds only the key: {out:?}");
    let key = lines[0].to_owned();
    let id = key_id(&key).unwrap_or_else(|| panic!("not a key: {key:?}")).to_owned();
    let err = stderr(&output);
    assert!(err.contains(&id), "stderr names the id: {err}");
    assert!(err.contains("shown once"), "stderr warns the key is shown once: {err}");
    assert!(!err.contains(&key), "the key goes to stdout only: {err}");
    (id, key)
}

/// `ferry keys list` as (id → columns).
fn list(data_dir: &Path) -> Vec<Vec<String>> {
    let output = ok(keys(data_dir, &["list"]));
    stdout(&output).lines().map(|line| line.split('\t').map(str::to_owned).collect()).collect()
}

fn row<'a>(rows: &'a [Vec<String>], id: &str) -> &'a [String] {
    rows.iter().find(|r| r[0] == id).unwrap_or_else(|| panic!("{id} is not listed: {rows:?}"))
}

#[test]
fn create_list_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    assert!(list(&data).is_empty(), "a new data directory has no keys");

    let (id, key) = create(&data, &["--owner", "etl"]);
    let (other_id, other_key) = create(&data, &["--owner", "mobile", "--scope", "ferry/jobs.read"]);
    assert_ne!(id, other_id);

    let output = ok(keys(&data, &["list"]));
    let out = stdout(&output);
    assert!(!out.contains(&key) && !out.contains(&other_key), "list never shows keys: {out}");
    assert!(!out.contains(&key[4 + 16 + 1..]), "nor their secrets: {out}");
    let rows = list(&data);
    assert_eq!(rows.len(), 2, "{rows:?}");
    for r in &rows {
        assert_eq!(r.len(), 6, "id owner scopes state created_at owner-state: {r:?}");
        assert!(!r.iter().any(|col| col.len() == 64), "no hash column: {r:?}");
    }
    let etl = row(&rows, &id);
    assert_eq!(etl[1], "etl");
    assert_eq!(etl[2], "ferry/jobs.read,ferry/jobs.write", "default scopes");
    assert_eq!(etl[3], "enabled");
    time::OffsetDateTime::parse(&etl[4], &time::format_description::well_known::Rfc3339).expect("created_at");
    assert_eq!(etl[5], "owner-enabled");
    let mobile = row(&rows, &other_id);
    assert_eq!((mobile[1].as_str(), mobile[2].as_str()), ("mobile", "ferry/jobs.read"));

    ok(keys(&data, &["revoke", &id]));
    let rows = list(&data);
    assert_eq!(row(&rows, &id)[3], "revoked");
    assert_eq!(row(&rows, &other_id)[3], "enabled", "only that key");

    // Revoking again is fine; an unknown id is an error.
    ok(keys(&data, &["revoke", &id]));
    let unknown = keys(&data, &["revoke", "0123456789abcdef"]);
    assert_eq!(unknown.status.code(), Some(1), "stderr: {}", stderr(&unknown));
    assert!(stderr(&unknown).contains("no API key"), "{}", stderr(&unknown));
    assert!(stdout(&unknown).is_empty());

    // Only hashes reach the disk (the database, its WAL, anything else there).
    for entry in std::fs::read_dir(&data).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&key[4 + 16 + 1..]) && !text.contains(&other_key[4 + 16 + 1..]));
    }
}

#[test]
fn owners_are_bounded_like_token_subjects() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let longest = "o".repeat(256);
    create(&data, &["--owner", &longest]);
    let refused = keys(&data, &["create", "--owner", &"o".repeat(5000)]);
    assert!(!refused.status.success(), "a 5,000-character owner is refused");
    assert!(stderr(&refused).contains("at most 256"), "{}", stderr(&refused));
    assert!(stdout(&refused).is_empty());
    assert_eq!(list(&data).len(), 1, "nothing stored for the refused owner");
}

#[test]
fn owners_can_be_disabled_and_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (id, _) = create(data, &["--owner", "partner"]);
    let (other, _) = create(data, &["--owner", "etl"]);

    ok(keys(data, &["disable-owner", "partner"]));
    let rows = list(data);
    assert_eq!(row(&rows, &id)[5], "owner-disabled");
    assert_eq!(row(&rows, &id)[3], "enabled", "the key itself is untouched");
    assert_eq!(row(&rows, &other)[5], "owner-enabled");

    // A key created for a disabled owner says so.
    let output = ok(keys(data, &["create", "--owner", "partner"]));
    assert!(stderr(&output).contains("disabled"), "{}", stderr(&output));

    ok(keys(data, &["enable-owner", "partner"]));
    assert_eq!(row(&list(data), &id)[5], "owner-enabled");
}

#[test]
fn bad_arguments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    for args in [
        &["create", "--owner", ""][..],
        &["create", "--owner", "a b"],
        &["create", "--owner", "etl", "--scope", "a,b"],
        &["create"],
        &["revoke"],
    ] {
        let output = keys(data, args);
        assert!(!output.status.success(), "{args:?} should fail");
        assert!(stdout(&output).is_empty(), "{args:?} printed {:?}", stdout(&output));
    }
    assert!(list(data).is_empty(), "nothing was created");

    let output = Command::new(FERRY)
        .args(["keys", "list", "--backend", "aws"])
        .env_remove("FERRY_TABLE")
        .env_remove("FERRY_BACKEND")
        .output()
        .unwrap();
    assert!(!output.status.success(), "--backend aws without a table");
}

#[test]
fn data_dir_comes_from_the_environment_too() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        ok(Command::new(FERRY)
            .arg("keys")
            .args(args)
            .current_dir(dir.path())
            .env("FERRY_DATA_DIR", dir.path().join("env-data"))
            .env_remove("FERRY_BACKEND")
            .output()
            .unwrap())
    };
    let key = stdout(&run(&["create", "--owner", "etl"])).trim().to_owned();
    let id = key_id(&key).expect("a key").to_owned();
    assert!(stdout(&run(&["list"])).starts_with(&id));
    assert!(dir.path().join("env-data").join("ferry.sqlite3").exists());
    assert!(!dir.path().join(".ferry").exists(), "not the default directory");
}

fn record(owner: &str) -> ApiKeyRecord {
    NewApiKey::generate(owner, &["ferry/jobs.read".into()]).record
}

#[tokio::test]
async fn sqlite_key_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferry.sqlite3");
    let store = SqliteKeyStore::new(Db::open(&path).unwrap());

    assert_eq!(store.list_keys().await.unwrap(), vec![]);
    let new = NewApiKey::generate("etl", &["ferry/jobs.read".into(), "ferry/jobs.write".into()]);
    store.put_key(&new.record).await.unwrap();
    let stored = store.get_key(&new.record.id).await.unwrap().expect("stored");
    assert_eq!(stored, new.record);
    assert!(key_matches(&stored, &new.key));
    assert!(store.put_key(&new.record).await.is_err(), "an id is stored once");
    let mut clash = record("mallory");
    clash.id = new.record.id.clone();
    assert!(store.put_key(&clash).await.is_err(), "an existing id is not overwritten");
    assert_eq!(store.get_key(&new.record.id).await.unwrap().unwrap().owner, "etl");
    assert_eq!(store.get_key("0123456789abcdef").await.unwrap(), None);

    // Oldest first, whatever the ids.
    let mut older = record("etl");
    older.created_at -= time::Duration::hours(1);
    older.id = "ffffffffffffffff".into();
    let mut empty = record("other");
    empty.scopes.clear();
    store.put_key(&older).await.unwrap();
    store.put_key(&empty).await.unwrap();
    let listed = store.list_keys().await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0], older);
    assert!(listed.contains(&new.record) && listed.contains(&empty));

    assert!(store.set_key_enabled(&new.record.id, false).await.unwrap());
    assert!(!store.get_key(&new.record.id).await.unwrap().unwrap().enabled);
    assert!(store.get_key(&older.id).await.unwrap().unwrap().enabled, "only that key");
    assert!(store.set_key_enabled(&new.record.id, true).await.unwrap());
    assert!(store.get_key(&new.record.id).await.unwrap().unwrap().enabled);
    assert!(!store.set_key_enabled("0123456789abcdef", false).await.unwrap(), "no such key");
    assert_eq!(store.get_key("0123456789abcdef").await.unwrap(), None, "and none was made");

    assert!(store.owner_enabled("etl").await.unwrap(), "owners start enabled");
    assert!(store.owner_enabled("nobody").await.unwrap());
    store.set_owner_enabled("etl", false).await.unwrap();
    store.set_owner_enabled("etl", false).await.unwrap();
    assert!(!store.owner_enabled("etl").await.unwrap());
    assert!(store.owner_enabled("other").await.unwrap(), "only that owner");
    store.set_owner_enabled("etl", true).await.unwrap();
    assert!(store.owner_enabled("etl").await.unwrap());

    // Everything survives reopening the file (the schema is created idempotently).
    store.set_owner_enabled("other", false).await.unwrap();
    drop(store);
    let reopened = SqliteKeyStore::new(Db::open(&path).unwrap());
    assert_eq!(reopened.list_keys().await.unwrap().len(), 3);
    assert!(!reopened.owner_enabled("other").await.unwrap());
}
