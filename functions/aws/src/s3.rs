//! S3 objects: plain get/put and presigned uploads.

use crate::describe;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use ferry_core::{BlobError, BlobStore, Size};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt};

/// One bucket's objects.
#[derive(Clone, Debug)]
pub struct S3Blobs {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Blobs {
    /// Uses [`crate::s3_client`] (path-style addressing with a custom endpoint).
    pub fn new(config: &SdkConfig, bucket: impl Into<String>) -> Self {
        Self::from_client(crate::s3_client(config), bucket)
    }

    pub fn from_client(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3Blobs { client, bucket: bucket.into() }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// The object's bytes, `None` when there is no such key.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        let out = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(BlobError::Unavailable(format!("GetObject {key}: {}", describe(&e)))),
        };
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| BlobError::Unavailable(format!("GetObject {key} body: {}", describe(&e))))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    /// Writes (or overwrites) an object.
    pub async fn put(&self, key: &str, bytes: Vec<u8>, content_type: Option<&str>) -> Result<(), BlobError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .set_content_type(content_type.map(str::to_owned))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| BlobError::Unavailable(format!("PutObject {key}: {}", describe(&e))))?;
        Ok(())
    }

    /// A URL that accepts one HTTP `PUT` of the object's bytes until the
    /// returned instant (at most 7 days ahead). No content type is signed, so
    /// the uploader may send any.
    pub async fn presign_put(&self, key: &str, expires_in: Duration) -> Result<(String, OffsetDateTime), BlobError> {
        let presigning = PresigningConfig::expires_in(expires_in).map_err(|e| BlobError::Invalid(describe(&e)))?;
        let expires_at = ferry_core::job::now() + expires_in;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning)
            .await
            .map_err(|e| BlobError::Unavailable(format!("presign PutObject {key}: {}", describe(&e))))?;
        Ok((request.uri().to_string(), expires_at))
    }
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: Option<&str>) -> Result<(), BlobError> {
        S3Blobs::put(self, key, bytes, content_type).await
    }

    /// Read whole (bounded by `size`), then put: a PutObject needs its
    /// length, and the bodies streamed here are direct uploads of a few MiB
    /// (large ones go to S3 through presigned URLs, not through Ferry).
    async fn put_stream(
        &self,
        key: &str,
        body: &mut (dyn AsyncRead + Send + Unpin),
        size: Size,
        content_type: Option<&str>,
    ) -> Result<u64, BlobError> {
        let mut bytes = Vec::new();
        body.take(size.max().saturating_add(1))
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| BlobError::Unavailable(format!("reading the body for {key}: {e}")))?;
        let n = bytes.len() as u64;
        size.check(n)?;
        S3Blobs::put(self, key, bytes, content_type).await?;
        Ok(n)
    }

    async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<Vec<u8>>, BlobError> {
        match self.size(key).await? {
            None => Ok(None),
            Some(size) if size > max_bytes => Err(BlobError::TooLarge(size)),
            Some(_) => S3Blobs::get(self, key).await,
        }
    }

    async fn size(&self, key: &str) -> Result<Option<u64>, BlobError> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => Ok(Some(out.content_length.unwrap_or(0).max(0) as u64)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(BlobError::Unavailable(format!("HeadObject {key}: {}", describe(&e)))),
        }
    }

    /// A presigned PUT with the content type and the exact length signed in:
    /// S3 refuses an upload of any other type or size.
    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        ttl: Duration,
    ) -> Result<Option<String>, BlobError> {
        let presigning = PresigningConfig::expires_in(ttl).map_err(|e| BlobError::Invalid(describe(&e)))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(max_bytes as i64)
            .presigned(presigning)
            .await
            .map_err(|e| BlobError::Unavailable(format!("presign PutObject {key}: {}", describe(&e))))?;
        Ok(Some(request.uri().to_string()))
    }
}
