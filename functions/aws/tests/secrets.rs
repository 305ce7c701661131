//! Secrets by ARN, read from the emulator's Secrets Manager the way both
//! Lambda functions read theirs at a cold start.

mod common;

use ferry_aws::secrets::{environment_with, read_configured};
use ferry_core::Settings;

/// A secret of this test's own; its ARN.
async fn create_secret(env: &common::Env, value: &str) -> String {
    let client = ferry_aws::secrets::client(&env.config);
    let name = format!("ferry-test/{}", uuid::Uuid::now_v7().simple());
    let created = client.create_secret().name(&name).secret_string(value).send().await.expect("CreateSecret");
    created.arn.expect("an ARN")
}

#[tokio::test]
async fn secrets_named_by_arn_are_read_in_place_of_their_variables() {
    let Some(env) = common::env().await else { return };
    let jwt = create_secret(&env, "a-jwt-secret-of-more-than-thirty-two-bytes").await;
    let webhook = create_secret(&env, "a-webhook-master-key-of-more-than-32-bytes").await;
    let given = [("FERRY_JWT_SECRET_ARN", jwt.as_str()), ("FERRY_WEBHOOK_SECRET_ARN", webhook.as_str())];

    let secrets = read_configured(&env.config, &Settings::from_pairs(&given)).await.unwrap();
    assert_eq!(secrets.len(), 2);
    let settings = environment_with(secrets);
    assert_eq!(settings.var("FERRY_JWT_SECRET").as_deref(), Some("a-jwt-secret-of-more-than-thirty-two-bytes"));
    let webhooks = settings.webhooks(None).unwrap().expect("a webhook config from the secret");
    let from_value = ferry_core::WebhookConfig::new(b"a-webhook-master-key-of-more-than-32-bytes".to_vec()).unwrap();
    assert_eq!(webhooks.owner_secret("alice"), from_value.owner_secret("alice"));

    let nothing = read_configured(&env.config, &Settings::from_pairs(&[])).await.unwrap();
    assert!(nothing.is_empty(), "no ARN, nothing read");
}

#[tokio::test]
async fn a_secret_that_cannot_be_read_stops_the_start_naming_its_variable() {
    let Some(env) = common::env().await else { return };
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ferry-test/none-AbCdEf";
    let err = read_configured(&env.config, &Settings::from_pairs(&[("FERRY_JWT_SECRET_ARN", missing)]))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("FERRY_JWT_SECRET_ARN ("), "{err}");
    assert!(err.contains("ResourceNotFound"), "{err}");

    let arn = create_secret(&env, "a-jwt-secret-of-more-than-thirty-two-bytes").await;
    let both = [("FERRY_JWT_SECRET_ARN", arn.as_str()), ("FERRY_JWT_SECRET", "a-plain-one-also-over-32-bytes-long")];
    let err = read_configured(&env.config, &Settings::from_pairs(&both)).await.unwrap_err().to_string();
    assert_eq!(err, "FERRY_JWT_SECRET and FERRY_JWT_SECRET_ARN are both set: set one");
}
