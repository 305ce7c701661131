//! The OpenAPI document against the router it describes: served as built,
//! every problem type and both credentials in it, and real answers of every
//! route valid against their schemas, with no field the schema does not name.

use axum::http::{StatusCode, header};
use ferry_api::problem::ProblemType;
use ferry_core::Limits;
use ferry_tests::{TestApp, request};
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn spec() -> Value {
    ferry_api::openapi_document()
}

/// Validates `answer` against `#/components/schemas/<name>` and checks that
/// every top-level field of the answer is one the schema names.
fn assert_fits(spec: &Value, name: &str, answer: &Value) {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": spec["components"],
    });
    let validator = jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{name}: {e}"));
    let errors: Vec<String> =
        validator.iter_errors(answer).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{name} does not describe {answer}: {errors:?}");
    let declared: BTreeSet<&String> =
        spec["components"]["schemas"][name]["properties"].as_object().unwrap().keys().collect();
    for field in answer.as_object().unwrap().keys() {
        assert!(declared.contains(field), "{name} does not name the field {field:?} of {answer}");
    }
}

#[tokio::test]
async fn the_document_is_served_as_built_and_names_every_problem_and_credential() {
    let app = TestApp::new(Limits::default());
    let (status, headers, served) = app.call(request("GET", "/openapi.json", None, None)).await;
    assert_eq!(status, StatusCode::OK, "served without a credential");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let spec = spec();
    assert_eq!(served, spec);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));

    let types: BTreeSet<String> = ProblemType::ALL.iter().map(|k| format!("urn:ferry:problem:{}", k.slug())).collect();
    let listed: BTreeSet<String> =
        spec["x-problem-types"].as_array().unwrap().iter().map(|t| t["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(listed, types);
    let enumerated: BTreeSet<String> = spec["components"]["schemas"]["Problem"]["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(enumerated, types);

    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["name"], "x-api-key");
    let open = ["/healthz", "/v1/uploads/{id}"];
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let security = operation["security"].to_string();
            let needs_credential = !open.contains(&path.as_str());
            assert_eq!(
                security.contains("bearer") && security.contains("api_key"),
                needs_credential,
                "{method} {path}"
            );
            if needs_credential {
                assert!(operation["responses"]["401"].is_object(), "{method} {path} documents 401");
            }
        }
    }
    assert_eq!(operations, 12, "every route the router serves");
    let create = &spec["paths"]["/v1/jobs"]["post"]["parameters"];
    let headers: BTreeSet<&str> = create.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(headers, BTreeSet::from(["Prefer", "Idempotency-Key", "Cancel-After"]));
}

#[tokio::test]
async fn every_answer_fits_its_schema() {
    let mut app = TestApp::new(Limits::default());
    app.start_worker();
    let spec = spec();
    let send = |method: &'static str, uri: String, body: Option<Value>| {
        let app = &app;
        async move { app.send(method, &uri, Some("alice"), body).await }
    };

    let (status, health) = app.send("GET", "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_fits(&spec, "Health", &health);
    assert_fits(&spec, "Models", &send("GET", "/v1/models".into(), None).await.1);
    assert_fits(&spec, "WebhookSecret", &send("GET", "/v1/webhooks/secret".into(), None).await.1);

    let (status, answer) = send("POST", "/v1/sentiment".into(), Some(json!({"text": "good"}))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_fits(&spec, "SentimentResult", &answer);

    let body = json!({"task": "sentiment", "inputs": ["good", "bad"], "metadata": {"batch": 7}});
    let (status, queued) = send("POST", "/v1/jobs".into(), Some(body)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_fits(&spec, "JobView", &queued);
    let path = format!("/v1/jobs/{}", queued["id"].as_str().unwrap());
    let wait = request("GET", &path, Some(&app.token("alice")), None);
    let (mut parts, body) = wait.into_parts();
    parts.headers.insert("prefer", "wait=10".parse().unwrap());
    let (_, _, done) = app.call(axum::http::Request::from_parts(parts, body)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_fits(&spec, "JobView", &done);
    for item in done["results"].as_array().unwrap() {
        assert_fits(&spec, "ItemResult", item);
    }
    assert_fits(&spec, "ResultsPage", &send("GET", format!("{path}/results?limit=2"), None).await.1);
    assert_fits(&spec, "JobList", &send("GET", "/v1/jobs".into(), None).await.1);
    let (status, problem) = send("DELETE", path.clone(), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_fits(&spec, "Problem", &problem);

    let document = json!({"content_type": "text/plain", "size": 5, "filename": "a.txt"});
    let (status, grant) = send("POST", "/v1/documents".into(), Some(document)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_fits(&spec, "UploadGrant", &grant);
    let put = axum::http::Request::builder()
        .method("PUT")
        .uri(format!("/v1/documents/{}", grant["document_id"].as_str().unwrap()))
        .header(header::AUTHORIZATION, format!("Bearer {}", app.token("alice")))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(axum::body::Body::from("hello"))
        .unwrap();
    let (status, _, uploaded) = app.call(put).await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    assert_fits(&spec, "Uploaded", &uploaded);
}

#[tokio::test]
async fn the_docs_page_loads_only_from_this_origin() {
    let app = TestApp::new(Limits::default());
    let response = tower::ServiceExt::oneshot(app.router.clone(), request("GET", "/docs", None, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self';") && csp.starts_with("default-src 'none'"), "{csp}");
    let html = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
    let html = String::from_utf8(html.to_vec()).unwrap();
    assert!(html.contains(r#"<script type="module" src="/docs/init.js">"#));
    assert!(!html.contains("<script>") && !html.contains("http"), "no inline script, nothing from elsewhere");
    let script =
        tower::ServiceExt::oneshot(app.router.clone(), request("GET", "/docs/redoc.js", None, None)).await.unwrap();
    assert_eq!(script.headers()[header::CONTENT_ENCODING], "gzip");
    let bytes = http_body_util::BodyExt::collect(script.into_body()).await.unwrap().to_bytes();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip");
}

/// The console's page, script and style come from this origin, with a CSP
/// that allows nothing inline (the page works under it: infra/console drives
/// it in Chromium and fails on any CSP report).
#[tokio::test]
async fn the_console_loads_only_from_this_origin_and_nothing_inline() {
    let app = TestApp::new(Limits::default());
    let response = tower::ServiceExt::oneshot(app.router.clone(), request("GET", "/", None, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    let csp = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(csp.starts_with("default-src 'none'; script-src 'self'; style-src 'self';"), "{csp}");
    assert!(!csp.contains("unsafe") && csp.contains("connect-src 'self'") && csp.contains("form-action 'none'"));
    let html = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
    let html = String::from_utf8(html.to_vec()).unwrap();
    assert!(html.contains(r#"<script type="module" src="/console/console.js">"#));
    assert!(!html.contains("<script>") && !html.contains("<style") && !html.contains(" style="));
    assert!(!html.contains("http:") && !html.contains("https:"), "nothing from elsewhere");
    for (path, kind) in [("/console/console.js", "text/javascript"), ("/console/console.css", "text/css")] {
        let response = tower::ServiceExt::oneshot(app.router.clone(), request("GET", path, None, None)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with(kind), "{path}");
    }
}

/// The resume-match result is described once, by `schemas/resume-result.schema.json`
/// inside the document: its own example fits both `ResumeResult` and the
/// `ItemResult` of a job's results, and a result that breaks it does not.
#[test]
fn the_resume_result_schema_is_part_of_the_document() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    assert_eq!(schemas["ResumeResult"]["title"], "Ferry resume-match result");
    assert!(!spec.to_string().contains("\"#/$defs/"), "every reference points into the document");
    let example = schemas["ResumeResult"]["examples"][0].clone();
    assert_fits(&spec, "ResumeResult", &example);
    assert_fits(&spec, "ItemResult", &example);
    let mut broken = example.clone();
    broken["match"]["skills"][0]["status"] = json!("maybe");
    let root = json!({"$ref": "#/components/schemas/ItemResult", "components": spec["components"]});
    assert!(!jsonschema::is_valid(&root, &broken), "a status the schema does not list is refused");
}
