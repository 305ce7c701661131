//! `BlobStore` on files: key `a/b/c` is `<root>/a/b/c`. Keys come from Ferry
//! itself (`uploads/<owner>/<id>`), but they are still checked so no key can
//! leave the root.

use async_trait::async_trait;
use ferry_core::{BlobError, BlobStore, Size};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Debug)]
pub struct FileBlobs {
    root: PathBuf,
}

impl FileBlobs {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FileBlobs { root: root.into() }
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        let relative = Path::new(key);
        let plain = relative.components().all(|c| matches!(c, Component::Normal(_)));
        if key.is_empty() || !plain || key.contains('\\') {
            return Err(BlobError::Invalid(format!("bad key {key:?}")));
        }
        Ok(self.root.join(relative))
    }

    /// Deletes objects under `prefix` last modified before `older_than` ago
    /// (the local stand-in for an S3 lifecycle rule). Returns how many went.
    pub fn sweep(&self, prefix: &str, older_than: Duration) -> std::io::Result<usize> {
        let dir = match self.path(prefix) {
            Ok(dir) => dir,
            Err(_) => return Ok(0),
        };
        let mut removed = 0;
        let mut stack = vec![dir];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let meta = entry.metadata()?;
                if meta.is_dir() {
                    stack.push(entry.path());
                } else if meta.modified()?.elapsed().unwrap_or_default() >= older_than {
                    std::fs::remove_file(entry.path())?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// Write then rename: a reader never sees half a file. A name of its own per
/// write, so two writers of one key never mix bytes.
fn partial_name(path: &Path) -> PathBuf {
    let mut tmp = path.to_path_buf().into_os_string();
    tmp.push(format!(".{}.partial", uuid::Uuid::now_v7().simple()));
    tmp.into()
}

fn unavailable(key: &str, e: std::io::Error) -> BlobError {
    BlobError::Unavailable(format!("{key}: {e}"))
}

#[async_trait]
impl BlobStore for FileBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: Option<&str>) -> Result<(), BlobError> {
        let path = self.path(key)?;
        let key = key.to_owned();
        tokio::task::spawn_blocking(move || {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let tmp = partial_name(&path);
            std::fs::write(&tmp, &bytes)?;
            std::fs::rename(&tmp, &path)
        })
        .await
        .map_err(|e| BlobError::Unavailable(e.to_string()))?
        .map_err(|e| unavailable(&key, e))
    }

    async fn put_stream(
        &self,
        key: &str,
        body: &mut (dyn AsyncRead + Send + Unpin),
        size: Size,
        _content_type: Option<&str>,
    ) -> Result<u64, BlobError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(|e| unavailable(key, e))?;
        }
        // Through a name of its own, renamed into place only when complete.
        let tmp = partial_name(&path);
        let written = async {
            let mut file = tokio::fs::File::create(&tmp).await?;
            // One byte past the limit tells "too large" from "exactly".
            let n = tokio::io::copy(&mut body.take(size.max().saturating_add(1)), &mut file).await?;
            file.flush().await?;
            Ok::<_, std::io::Error>(n)
        }
        .await;
        let outcome = match written {
            Ok(n) => size.check(n).map(|()| n),
            Err(e) => Err(unavailable(key, e)),
        };
        match outcome {
            Ok(n) => {
                tokio::fs::rename(&tmp, &path).await.map_err(|e| unavailable(key, e))?;
                Ok(n)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }

    async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<Vec<u8>>, BlobError> {
        let Some(size) = self.size(key).await? else { return Ok(None) };
        if size > max_bytes {
            return Err(BlobError::TooLarge(size));
        }
        match tokio::fs::read(self.path(key)?).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(unavailable(key, e)),
        }
    }

    async fn size(&self, key: &str) -> Result<Option<u64>, BlobError> {
        match tokio::fs::metadata(self.path(key)?).await {
            Ok(meta) if meta.is_file() => Ok(Some(meta.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(unavailable(key, e)),
        }
    }

    async fn upload_url(&self, _: &str, _: &str, _: u64, _: Duration) -> Result<Option<String>, BlobError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_limits_and_keys_that_escape() {
        let dir = std::env::temp_dir().join(format!("ferry-blobs-{}", uuid::Uuid::now_v7()));
        let blobs = FileBlobs::new(&dir);
        blobs.put("uploads/alice/d1", b"hello".to_vec(), None).await.unwrap();
        assert_eq!(blobs.get("uploads/alice/d1", 5).await.unwrap().unwrap(), b"hello");
        assert!(matches!(blobs.get("uploads/alice/d1", 4).await, Err(BlobError::TooLarge(5))));
        assert_eq!(blobs.size("uploads/alice/none").await.unwrap(), None);
        for bad in ["../x", "/etc/passwd", "uploads/../../x", ""] {
            assert!(matches!(blobs.put(bad, vec![], None).await, Err(BlobError::Invalid(_))), "{bad}");
        }
        let mut body: &[u8] = b"streamed";
        assert_eq!(blobs.put_stream("uploads/alice/d2", &mut body, Size::Exactly(8), None).await.unwrap(), 8);
        assert_eq!(blobs.get("uploads/alice/d2", 8).await.unwrap().unwrap(), b"streamed");
        for (size, short) in [(Size::Exactly(9), false), (Size::AtMost(7), true)] {
            let mut body: &[u8] = b"streamed";
            let refused = blobs.put_stream("uploads/alice/d3", &mut body, size, None).await;
            assert!(matches!(refused, Err(BlobError::TooLarge(_))) == short, "{size:?}: {refused:?}");
            assert!(refused.is_err());
            assert_eq!(blobs.size("uploads/alice/d3").await.unwrap(), None, "nothing stored for {size:?}");
        }
        assert_eq!(std::fs::read_dir(dir.join("uploads/alice")).unwrap().count(), 2, "no partial files left");
        assert_eq!(blobs.sweep("uploads", Duration::ZERO).unwrap(), 2);
        assert_eq!(blobs.size("uploads/alice/d1").await.unwrap(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
