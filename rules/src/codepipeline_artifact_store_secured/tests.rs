use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::Client as S3;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput;
use aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyOutput;
use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
use aws_sdk_s3::operation::get_public_access_block::GetPublicAccessBlockOutput;
use aws_sdk_s3::primitives::SdkBody;
use aws_sdk_s3::types::{
    BucketVersioningStatus, PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use aws_smithy_mocks::{MockResponse, Rule as MockRule, RuleMode, mock, mock_client};
use pipesec_engine::{Compliance, Error};
use rstest::rstest;
use serde::Deserialize;
use serde_json::{Value, json};

use super::*;
use crate::testing::{fixture_path, subject};

/// The account's buckets as `fixtures/<id>/s3.json` describes them, served by a mocked S3 that
/// answers as S3 does: errors as S3's XML error documents with their HTTP status (a bucket
/// absent from the file: NoSuchBucket; `denied`: AccessDenied on every read).
#[derive(Debug, Deserialize)]
struct S3Fixture {
    buckets: HashMap<String, FakeBucket>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FakeBucket {
    region: String,
    #[serde(default)]
    denied: bool,
    #[serde(default)]
    public_access_block: Option<HashMap<String, bool>>,
    #[serde(default)]
    versioning: Option<String>,
    #[serde(default)]
    policy: Option<Value>,
    #[serde(default)]
    encryption: Vec<String>,
}

fn s3_error(status: u16, code: &str) -> HttpResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{code}</Message><RequestId>0A1B2C3D</RequestId></Error>"
    );
    HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body))
}

/// The request URIs an S3 client sent, to check in which region each bucket was addressed.
#[derive(Debug, Clone, Default)]
struct Uris(Arc<Mutex<Vec<String>>>);

impl Intercept for Uris {
    fn name(&self) -> &'static str {
        "record-uris"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.lock().unwrap().push(context.request().uri().to_owned());
        Ok(())
    }
}

struct FakeS3 {
    state: Arc<S3Fixture>,
    rules: Vec<MockRule>,
    uris: Uris,
}

/// What the fake answers for `bucket`: `Err` with S3's error, or the bucket.
fn lookup<'a>(state: &'a S3Fixture, bucket: Option<&str>) -> Result<&'a FakeBucket, (u16, &'static str)> {
    match state.buckets.get(bucket.unwrap_or_default()) {
        None => Err((404, "NoSuchBucket")),
        Some(fake) if fake.denied => Err((403, "AccessDenied")),
        Some(fake) => Ok(fake),
    }
}

impl FakeS3 {
    fn from_fixture() -> Self {
        let path = fixture_path(ID, "s3");
        let state: Arc<S3Fixture> = Arc::new(serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap());

        let s3 = Arc::clone(&state);
        let block = mock!(S3::get_public_access_block).then_compute_response(move |request| {
            match lookup(&s3, request.bucket()) {
                Err((status, code)) => MockResponse::Http(s3_error(status, code)),
                Ok(FakeBucket { public_access_block: None, .. }) => {
                    MockResponse::Http(s3_error(404, "NoSuchPublicAccessBlockConfiguration"))
                }
                Ok(FakeBucket { public_access_block: Some(settings), .. }) => {
                    let block = PublicAccessBlockConfiguration::builder()
                        .block_public_acls(settings["BlockPublicAcls"])
                        .ignore_public_acls(settings["IgnorePublicAcls"])
                        .block_public_policy(settings["BlockPublicPolicy"])
                        .restrict_public_buckets(settings["RestrictPublicBuckets"])
                        .build();
                    MockResponse::Output(
                        GetPublicAccessBlockOutput::builder().public_access_block_configuration(block).build(),
                    )
                }
            }
        });
        let s3 = Arc::clone(&state);
        let versioning = mock!(S3::get_bucket_versioning).then_compute_response(move |request| {
            match lookup(&s3, request.bucket()) {
                Err((status, code)) => MockResponse::Http(s3_error(status, code)),
                Ok(fake) => MockResponse::Output(
                    GetBucketVersioningOutput::builder()
                        .set_status(fake.versioning.as_deref().map(BucketVersioningStatus::from))
                        .build(),
                ),
            }
        });
        let s3 = Arc::clone(&state);
        let policy =
            mock!(S3::get_bucket_policy).then_compute_response(move |request| match lookup(&s3, request.bucket()) {
                Err((status, code)) => MockResponse::Http(s3_error(status, code)),
                Ok(FakeBucket { policy: None, .. }) => MockResponse::Http(s3_error(404, "NoSuchBucketPolicy")),
                Ok(FakeBucket { policy: Some(document), .. }) => {
                    MockResponse::Output(GetBucketPolicyOutput::builder().policy(document.to_string()).build())
                }
            });
        let s3 = Arc::clone(&state);
        let encryption = mock!(S3::get_bucket_encryption).then_compute_response(move |request| {
            match lookup(&s3, request.bucket()) {
                Err((status, code)) => MockResponse::Http(s3_error(status, code)),
                Ok(fake) if fake.encryption.is_empty() => {
                    MockResponse::Http(s3_error(404, "ServerSideEncryptionConfigurationNotFoundError"))
                }
                Ok(fake) => {
                    let rules = fake.encryption.iter().map(|algorithm| {
                        let default = ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(ServerSideEncryption::from(algorithm.as_str()))
                            .build()
                            .unwrap();
                        ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(default).build()
                    });
                    let config =
                        ServerSideEncryptionConfiguration::builder().set_rules(Some(rules.collect())).build().unwrap();
                    MockResponse::Output(
                        GetBucketEncryptionOutput::builder().server_side_encryption_configuration(config).build(),
                    )
                }
            }
        });
        FakeS3 { state, rules: vec![block, versioning, policy, encryption], uris: Uris::default() }
    }

    fn aws(&self) -> Aws {
        let uris = self.uris.clone();
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &self.rules, move |config| config
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .interceptor(uris.clone()));
        Aws::for_tests().with_s3(client)
    }

    /// Calls per operation, in the order public access block, versioning, policy, encryption.
    fn calls(&self) -> Vec<usize> {
        self.rules.iter().map(MockRule::num_calls).collect()
    }

    fn uris(&self) -> Vec<String> {
        self.uris.0.lock().unwrap().clone()
    }
}

async fn verdict(fixture: &str) -> Verdict {
    let subjects = [subject(ID, fixture)];
    let facts = ArtifactStoreSecured::gather(&FakeS3::from_fixture().aws(), &NoParameters {}, &subjects).await.unwrap();
    ArtifactStoreSecured::evaluate(&subjects[0], &facts[0], &NoParameters {})
}

#[rstest]
#[case::secured("compliant-secured", Compliance::Compliant)]
#[case::s3_defaults("non-compliant-s3-defaults", Compliance::NonCompliant)]
#[case::bucket_missing("non-compliant-bucket-missing", Compliance::NonCompliant)]
#[case::cross_region_secured("compliant-cross-region", Compliance::Compliant)]
#[case::cross_region_store_not_secured("non-compliant-cross-region", Compliance::NonCompliant)]
#[case::other_account("other-account", Compliance::NotApplicable)]
#[tokio::test]
async fn scenario(#[case] fixture: &str, #[case] expected: Compliance) {
    let verdict = verdict(fixture).await;
    assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
}

#[tokio::test]
async fn reasons_name_the_bucket_the_region_and_every_problem() {
    let defaults = verdict("non-compliant-s3-defaults").await;
    assert_eq!(
        defaults.reason,
        "bucket `payments-artifacts-defaults`: no bucket policy denying requests without TLS, default encryption \
         AES256, not aws:kms, versioning never enabled"
    );
    let cross = verdict("non-compliant-cross-region").await;
    assert!(cross.reason.starts_with("bucket `payments-artifacts-euw1-defaults` (eu-west-1): "), "{}", cross.reason);
    assert!(!cross.reason.contains("`payments-artifacts`"), "the secured bucket is not named: {}", cross.reason);
    let missing = verdict("non-compliant-bucket-missing").await;
    assert!(missing.reason.contains("`payments-artifacts-deleted` does not exist"), "{}", missing.reason);
    let denied = verdict("other-account").await;
    assert_eq!(
        denied.reason,
        "cannot judge the artifact store: bucket `shared-artifacts-other-account`: s3:GetBucketPublicAccessBlock, \
         s3:GetBucketPolicy, s3:GetEncryptionConfiguration, s3:GetBucketVersioning denied"
    );
}

#[tokio::test]
async fn each_bucket_is_read_once_in_its_region_however_many_pipelines_share_it() {
    let fake = FakeS3::from_fixture();
    let subjects: Vec<Subject<PipelineConfiguration>> =
        ["compliant-secured", "compliant-cross-region", "non-compliant-cross-region"]
            .iter()
            .map(|fixture| subject(ID, fixture))
            .collect();
    let facts = ArtifactStoreSecured::gather(&fake.aws(), &NoParameters {}, &subjects).await.unwrap();
    // payments-artifacts (shared by all three), -euw1 and -euw1-defaults: three buckets.
    assert_eq!(fake.calls(), vec![3, 3, 3, 3]);
    assert_eq!(facts[1].keys().collect::<Vec<_>>(), ["payments-artifacts", "payments-artifacts-euw1"]);
    let uris = fake.uris();
    // Each bucket addressed in the region the fixture puts it in, as S3 requires.
    for bucket in ["payments-artifacts", "payments-artifacts-euw1", "payments-artifacts-euw1-defaults"] {
        let sent: Vec<&String> = uris.iter().filter(|uri| uri.contains(&format!("//{bucket}."))).collect();
        assert_eq!(sent.len(), 4, "{bucket}: {uris:?}");
        let region = &fake.state.buckets[bucket].region;
        assert!(sent.iter().all(|uri| uri.contains(&format!(".{region}."))), "{bucket}: {uris:?}");
    }
}

#[tokio::test]
async fn a_failed_read_other_than_a_refusal_fails_the_invocation_naming_the_action() {
    let failing = mock!(S3::get_public_access_block).then_http_response(|| s3_error(500, "InternalError"));
    let aws = Aws::for_tests().with_s3(mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&failing], |config| config
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())));
    let err =
        ArtifactStoreSecured::gather(&aws, &NoParameters {}, &[subject(ID, "compliant-secured")]).await.unwrap_err();
    assert!(matches!(err, Error::Aws { action: "s3:GetBucketPublicAccessBlock", .. }), "{err}");
}

#[tokio::test]
async fn offline_the_read_fails_naming_the_action() {
    let err = ArtifactStoreSecured::gather(&Aws::offline(), &NoParameters {}, &[subject(ID, "compliant-secured")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("s3:GetBucketPublicAccessBlock"), "{err}");
}

fn secured() -> BucketSettings {
    BucketSettings {
        public_access_block: Readable::Known(Some(PublicAccessBlock {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: true,
            restrict_public_buckets: true,
        })),
        versioning: Readable::Known(Some("Enabled".to_owned())),
        policy: Readable::Known(Some(tls_deny(&json!("arn:aws:s3:::payments-artifacts/*")).to_string())),
        encryption: Readable::Known(vec!["aws:kms".to_owned()]),
    }
}

fn judged(settings: BucketSettings) -> Verdict {
    let facts = Buckets::from([("payments-artifacts".to_owned(), Bucket::Settings(settings))]);
    ArtifactStoreSecured::evaluate(&subject(ID, "compliant-secured"), &facts, &NoParameters {})
}

#[rstest]
#[case::all_settings(secured(), Compliance::Compliant, "")]
#[case::no_public_access_block(BucketSettings { public_access_block: Readable::Known(None), ..secured() }, Compliance::NonCompliant, "no public access block")]
#[case::one_setting_off(BucketSettings { public_access_block: Readable::Known(Some(PublicAccessBlock { restrict_public_buckets: false, block_public_acls: true, ignore_public_acls: true, block_public_policy: true })), ..secured() }, Compliance::NonCompliant, "public access block off: RestrictPublicBuckets")]
#[case::versioning_suspended(BucketSettings { versioning: Readable::Known(Some("Suspended".to_owned())), ..secured() }, Compliance::NonCompliant, "versioning Suspended")]
#[case::no_policy(BucketSettings { policy: Readable::Known(None), ..secured() }, Compliance::NonCompliant, "no bucket policy")]
#[case::no_encryption(BucketSettings { encryption: Readable::Known(Vec::new()), ..secured() }, Compliance::NonCompliant, "no default encryption")]
#[case::dsse(BucketSettings { encryption: Readable::Known(vec!["aws:kms:dsse".to_owned()]), ..secured() }, Compliance::Compliant, "")]
#[case::policy_denied(BucketSettings { policy: Readable::Denied("s3:GetBucketPolicy"), ..secured() }, Compliance::NotApplicable, "s3:GetBucketPolicy denied")]
#[case::denied_and_finding(BucketSettings { policy: Readable::Denied("s3:GetBucketPolicy"), versioning: Readable::Known(None), ..secured() }, Compliance::NonCompliant, "versioning never enabled; not read: bucket `payments-artifacts`: s3:GetBucketPolicy denied")]
fn bucket_settings(#[case] settings: BucketSettings, #[case] expected: Compliance, #[case] reason: &str) {
    let verdict = judged(settings);
    assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    assert!(verdict.reason.contains(reason), "{}", verdict.reason);
}

#[test]
fn no_artifact_store_unknown_bucket_and_unread_bucket_are_not_applicable() {
    let mut pipeline = subject::<PipelineConfiguration>(ID, "compliant-secured");
    let read = Buckets::from([("payments-artifacts".to_owned(), Bucket::Settings(secured()))]);
    let unread = ArtifactStoreSecured::evaluate(&pipeline, &Buckets::new(), &NoParameters {});
    assert_eq!(unread.compliance, Compliance::NotApplicable, "{}", unread.reason);
    assert!(unread.reason.contains("`payments-artifacts` was not read"), "{}", unread.reason);

    pipeline.resource.pipeline.artifact_store.as_mut().unwrap().location =
        Some(unknown::placeholder("!Ref ArtifactBucket"));
    let template = ArtifactStoreSecured::evaluate(&pipeline, &read, &NoParameters {});
    assert_eq!(template.compliance, Compliance::NotApplicable, "{}", template.reason);
    assert!(template.reason.contains("unknown before deployment: `!Ref ArtifactBucket`"), "{}", template.reason);

    pipeline.resource.pipeline.artifact_store = None;
    let none = ArtifactStoreSecured::evaluate(&pipeline, &read, &NoParameters {});
    assert_eq!(
        (none.compliance, none.reason.as_str()),
        (Compliance::NotApplicable, "the pipeline declares no artifact store")
    );
}

/// The statement CodePipeline's console puts on the artifact bucket it creates, on `resource`.
fn tls_deny(resource: &Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureConnections", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": resource, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
}

/// `tls_deny` on the bucket's objects with `field` replaced (or removed, for `Value::Null`).
fn with(field: &str, value: Value) -> String {
    let mut policy = tls_deny(&json!("arn:aws:s3:::payments-artifacts/*"));
    let statement = policy["Statement"][0].as_object_mut().unwrap();
    if value.is_null() {
        statement.remove(field);
    } else {
        statement.insert(field.to_owned(), value);
    }
    policy.to_string()
}

#[rstest]
#[case::console_statement(with("Sid", json!("x")), true)]
#[case::single_statement_object(json!({"Statement": serde_json::from_str::<Value>(&with("Sid", json!("x"))).unwrap()["Statement"][0]}).to_string(), true)]
#[case::principal_aws_star(with("Principal", json!({"AWS": "*"})), true)]
#[case::principal_aws_list(with("Principal", json!({"AWS": ["*"]})), true)]
#[case::principal_one_account(with("Principal", json!({"AWS": "arn:aws:iam::123456789012:root"})), false)]
#[case::no_principal(with("Principal", Value::Null), false)]
#[case::not_principal(with("NotPrincipal", json!({"AWS": "arn:aws:iam::123456789012:root"})), false)]
#[case::action_star(with("Action", json!("*")), true)]
#[case::action_list_with_s3_star(with("Action", json!(["s3:GetObject", "S3:*"])), true)]
#[case::action_get_object_only(with("Action", json!(["s3:GetObject", "s3:PutObject"])), false)]
#[case::action_prefix_wildcard(with("Action", json!("s3:Get*")), false)]
#[case::not_action(with("NotAction", json!("s3:ListBucket")), false)]
#[case::resource_bucket_and_objects(with("Resource", json!(["arn:aws:s3:::payments-artifacts", "arn:aws:s3:::payments-artifacts/*"])), true)]
#[case::resource_bucket_star(with("Resource", json!("arn:aws:s3:::payments-artifacts*")), true)]
#[case::resource_every_bucket(with("Resource", json!("arn:aws:s3:::*")), true)]
#[case::resource_star(with("Resource", json!("*")), true)]
#[case::resource_bucket_only(with("Resource", json!("arn:aws:s3:::payments-artifacts")), false)]
#[case::resource_one_prefix(with("Resource", json!("arn:aws:s3:::payments-artifacts/build/*")), false)]
#[case::resource_other_bucket(with("Resource", json!("arn:aws:s3:::other-artifacts/*")), false)]
#[case::resource_inner_wildcard(with("Resource", json!("arn:aws:s3:::pay*-artifacts/*")), false)]
#[case::resource_other_partition(with("Resource", json!("arn:aws-cn:s3:::payments-artifacts/*")), false)]
#[case::not_resource(with("NotResource", json!("arn:aws:s3:::x/*")), false)]
#[case::allow(with("Effect", json!("Allow")), false)]
#[case::bool_if_exists(with("Condition", json!({"BoolIfExists": {"aws:SecureTransport": "false"}})), true)]
#[case::boolean_value(with("Condition", json!({"Bool": {"aws:SecureTransport": false}})), true)]
#[case::list_value(with("Condition", json!({"Bool": {"aws:SecureTransport": ["false"]}})), true)]
#[case::key_case(with("Condition", json!({"Bool": {"AWS:securetransport": "False"}})), true)]
#[case::value_true(with("Condition", json!({"Bool": {"aws:SecureTransport": "true"}})), false)]
#[case::string_operator(with("Condition", json!({"StringEquals": {"aws:SecureTransport": "false"}})), false)]
#[case::second_key(with("Condition", json!({"Bool": {"aws:SecureTransport": "false", "aws:ViaAWSService": "false"}})), false)]
#[case::second_operator(with("Condition", json!({"Bool": {"aws:SecureTransport": "false"}, "StringEquals": {"aws:PrincipalAccount": "123456789012"}})), false)]
#[case::tls_version_instead(with("Condition", json!({"NumericLessThan": {"s3:TlsVersion": "1.2"}})), false)]
#[case::no_condition(with("Condition", Value::Null), false)]
#[case::not_json("{\"Statement\": [".to_owned(), false)]
fn tls_deny_statements(#[case] policy: String, #[case] denies: bool) {
    assert_eq!(denies_insecure_transport(&policy, "payments-artifacts", "aws"), denies, "{policy}");
}
