//! What only S3Blobs has (presigned uploads) and the shared config, against
//! the emulator. What every blob store does is `ferry_tests::contract::blobs`.

mod common;

use std::time::Duration;

#[tokio::test]
async fn presigned_put_accepts_an_upload() {
    let Some(env) = common::env().await else { return };
    let blobs = env.blobs();
    let key = format!("uploads/{}/resume.txt", common::owner("blobs"));
    let before = time::OffsetDateTime::now_utc();
    let (url, expires_at) = blobs.presign_put(&key, Duration::from_secs(900)).await.unwrap();
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    assert!(url.starts_with(&format!("{endpoint}/{}/uploads/", env.bucket)), "path-style URL: {url}");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let ttl = (expires_at - before).whole_seconds();
    assert!((899..=901).contains(&ttl), "expires in {ttl}s");

    let body = b"Jane Doe\nSkills: Rust, SQL\n".to_vec();
    let upload = body.clone();
    let status = tokio::task::spawn_blocking(move || {
        ureq::put(&url).send_bytes(&upload).map(|r| r.status()).map_err(|e| e.to_string())
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(blobs.get(&key).await.unwrap(), Some(body));

    assert!(blobs.presign_put(&key, Duration::from_secs(8 * 24 * 3600)).await.is_err(), "over 7 days");
}

#[tokio::test]
async fn config_is_loaded_once_and_honours_the_endpoint() {
    let Some(_env) = common::env().await else { return };
    let a = ferry_aws::config().await;
    let b = ferry_aws::config().await;
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    assert_eq!(a.endpoint_url(), Some(endpoint.as_str()));
    assert_eq!(b.endpoint_url(), a.endpoint_url());
    assert_eq!(a.region().map(|r| r.to_string()).as_deref(), Some("us-east-1"));
}
