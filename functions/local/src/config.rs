//! Where local state lives, how the dev signing secret is kept, and the
//! one place `ferry` reads its environment.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

const SECRET_FILE: &str = "jwt-secret";
const WEBHOOK_SECRET_FILE: &str = "webhook-secret";

/// The HS256 secret: the configured one (`FERRY_JWT_SECRET`) if given, else
/// one generated on first use and kept in the data directory (readable by the
/// owner only), so `ferry token` and `ferry serve` with the same `--data-dir` agree.
pub fn jwt_secret(data_dir: &Path, configured: Option<&str>) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = configured {
        if secret.len() < 32 {
            bail!("FERRY_JWT_SECRET must be at least 32 bytes");
        }
        return Ok(secret.as_bytes().to_vec());
    }
    generated_secret(data_dir, SECRET_FILE)
}

/// The master key webhook signing secrets are derived from: generated once
/// per data directory, like the JWT secret (`FERRY_WEBHOOK_SECRET` overrides it).
pub fn webhook_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    generated_secret(data_dir, WEBHOOK_SECRET_FILE)
}

fn generated_secret(data_dir: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(secret) => return Ok(secret.trim().as_bytes().to_vec()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for the secret: {e}"))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, &secret)?;
    Ok(secret.into_bytes())
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => file.write_all(contents.as_bytes()).with_context(|| format!("writing {}", path.display())),
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("ferry.sqlite3")
}

/// Parses durations like `90`, `90s`, `15m`, `24h`, `7d`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("invalid duration unit in {s:?}; use s, m, h or d")),
    };
    Ok(std::time::Duration::from_secs(secs))
}

/// The process environment, read through [`ferry_core::Settings`]'s rules.
pub fn environment() -> ferry_core::Settings<'static> {
    ferry_core::Settings::new(|name| std::env::var(name).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("24h").unwrap().as_secs(), 86_400);
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("h").is_err());
    }
}
