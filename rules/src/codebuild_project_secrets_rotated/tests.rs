use aws_sdk_secretsmanager::Client as SecretsManager;
use aws_sdk_secretsmanager::config::Region;
use aws_sdk_secretsmanager::operation::describe_secret::{DescribeSecretError, DescribeSecretOutput};
use aws_sdk_secretsmanager::primitives::DateTime;
use aws_sdk_secretsmanager::types::error::ResourceNotFoundException;
use aws_sdk_ssm::Client as Ssm;
use aws_sdk_ssm::operation::describe_parameters::DescribeParametersOutput;
use aws_sdk_ssm::types::{ParameterMetadata, ParameterType};
use aws_smithy_mocks::{
    MockResponse, MockResponseInterceptor, Rule as MockRule, RuleMode, create_mock_http_client, mock, mock_client,
};
use pipesec_engine::Compliance;
use rstest::rstest;

use super::*;
use crate::testing::{RequestRegions, subject};

const DAY: i64 = 86_400;

fn days_ago(days: i64) -> DateTime {
    DateTime::from_secs(Timestamp::now().as_second() - days * DAY)
}

/// The account: secrets and parameters as Secrets Manager and Parameter Store describe them.
struct FakeAccount {
    describe_secret: MockRule,
    describe_parameters: MockRule,
    regions: RequestRegions,
}

impl FakeAccount {
    fn new() -> Self {
        let describe_secret = mock!(SecretsManager::describe_secret).then_compute_response(|request| {
            let id = request.secret_id().unwrap_or_default();
            let secret = |rotation: bool, rotated: Option<i64>, created: i64| {
                MockResponse::Output(
                    DescribeSecretOutput::builder()
                        .name(id)
                        .rotation_enabled(rotation)
                        .set_last_rotated_date(rotated.map(days_ago))
                        .created_date(days_ago(created))
                        .build(),
                )
            };
            match id {
                "prod/db" => secret(true, Some(10), 400),
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:deploy/token-AbCdEf" => secret(true, None, 5),
                "legacy/token" => secret(false, None, 30),
                "old/token" => secret(true, Some(200), 900),
                _ => MockResponse::Error(DescribeSecretError::ResourceNotFoundException(
                    ResourceNotFoundException::builder()
                        .message("Secrets Manager can't find the specified secret.")
                        .build(),
                )),
            }
        });
        let describe_parameters = mock!(Ssm::describe_parameters).then_compute_output(|request| {
            let names: Vec<String> =
                request.parameter_filters().iter().flat_map(|filter| filter.values().to_vec()).collect();
            let known = [
                ("/prod/api/key", ParameterType::SecureString, 20),
                ("/prod/region", ParameterType::String, 900),
                ("/legacy/api-key", ParameterType::SecureString, 400),
            ];
            let parameters = known
                .into_iter()
                .filter(|(name, ..)| names.iter().any(|asked| asked == name))
                .map(|(name, kind, age)| {
                    ParameterMetadata::builder().name(name).r#type(kind).last_modified_date(days_ago(age)).build()
                })
                .collect();
            DescribeParametersOutput::builder().set_parameters(Some(parameters)).build()
        });
        FakeAccount { describe_secret, describe_parameters, regions: RequestRegions::default() }
    }

    fn aws(&self) -> Aws {
        let mock = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny).with_rule(&self.describe_secret);
        let secrets = aws_sdk_secretsmanager::Config::builder()
            .with_test_defaults_v2()
            .region(Region::new("us-east-1"))
            .http_client(create_mock_http_client())
            .interceptor(self.regions.clone())
            .interceptor(mock)
            .build();
        let ssm = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [&self.describe_parameters]);
        Aws::for_tests().with_secretsmanager(SecretsManager::from_conf(secrets)).with_ssm(ssm)
    }
}

async fn verdict_with(fixture: &str, params: &Params) -> Verdict {
    let subjects = [subject(ID, fixture)];
    let facts = SecretsRotated::gather(&FakeAccount::new().aws(), params, &subjects).await.unwrap();
    SecretsRotated::evaluate(&subjects[0], &facts[0], params)
}

#[rstest]
#[case::rotated_secret_and_young_secure_string("compliant-rotated", Compliance::Compliant)]
#[case::secret_by_arn_never_rotated_yet("compliant-secret-by-arn", Compliance::Compliant)]
#[case::rotation_off("non-compliant-rotation-off", Compliance::NonCompliant)]
#[case::stale_secret("non-compliant-stale-secret", Compliance::NonCompliant)]
#[case::old_secure_string("non-compliant-old-parameter", Compliance::NonCompliant)]
#[case::missing_secret("non-compliant-missing-secret", Compliance::NonCompliant)]
#[case::no_references("no-references", Compliance::NotApplicable)]
#[tokio::test]
async fn scenario(#[case] fixture: &str, #[case] expected: Compliance) {
    let verdict = verdict_with(fixture, &Params::default()).await;
    assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
}

#[rstest]
#[case::shorter_than_the_last_rotation("compliant-rotated", 5, Compliance::NonCompliant)]
#[case::longer_than_the_last_rotation("non-compliant-stale-secret", 365, Compliance::Compliant)]
#[tokio::test]
async fn max_age_days(#[case] fixture: &str, #[case] days: u32, #[case] expected: Compliance) {
    let verdict = verdict_with(fixture, &Params { max_age_days: Some(days) }).await;
    assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
}

#[tokio::test]
async fn reasons_name_the_secret_and_the_variable_never_a_value() {
    let reason = |fixture| async move { verdict_with(fixture, &Params::default()).await.reason };
    assert_eq!(
        reason("non-compliant-rotation-off").await,
        "secret `legacy/token` (variable `LEGACY_TOKEN`) has rotation off"
    );
    assert_eq!(
        reason("non-compliant-stale-secret").await,
        "secret `old/token` (variable `OLD_TOKEN`) last rotated 200 days ago"
    );
    assert_eq!(
        reason("non-compliant-old-parameter").await,
        "SecureString parameter `/legacy/api-key` (variable `API_KEY`) last changed 400 days ago"
    );
    assert_eq!(
        reason("non-compliant-missing-secret").await,
        "secret `deleted/db` (variable `DB_PASSWORD`) does not exist"
    );
}

#[tokio::test]
async fn each_secret_once_in_its_region_and_parameters_in_one_call() {
    let fake = FakeAccount::new();
    let fixtures = ["compliant-rotated", "compliant-rotated", "compliant-secret-by-arn", "non-compliant-old-parameter"];
    let subjects: Vec<Subject<CodeBuildProject>> = fixtures.iter().map(|fixture| subject(ID, fixture)).collect();
    let facts = SecretsRotated::gather(&fake.aws(), &Params::default(), &subjects).await.unwrap();
    assert_eq!(fake.describe_secret.num_calls(), 2);
    assert_eq!(fake.describe_parameters.num_calls(), 1);
    let mut regions = fake.regions.0.lock().unwrap().clone();
    regions.sort();
    assert_eq!(regions, ["eu-west-1", "us-east-1"]);
    assert_eq!(facts[1], facts[0]);
}

#[tokio::test]
async fn no_reference_no_read_and_offline_the_read_is_named() {
    let offline = Aws::offline();
    let facts = SecretsRotated::gather(&offline, &Params::default(), &[subject(ID, "no-references")]).await.unwrap();
    assert_eq!(facts, vec![References::default()]);
    let err = SecretsRotated::gather(&offline, &Params::default(), &[subject(ID, "non-compliant-rotation-off")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("secretsmanager:DescribeSecret"), "{err}");
}

#[test]
fn a_refused_read_is_not_applicable_unless_something_known_is_wrong() {
    let project = subject::<CodeBuildProject>(ID, "compliant-rotated");
    let mut facts = References {
        as_of: Some(Timestamp::now()),
        secrets: BTreeMap::from([("prod/db".to_owned(), Readable::Denied("secretsmanager:DescribeSecret"))]),
        parameters: BTreeMap::from([
            (
                "/prod/api/key".to_owned(),
                Readable::Known(Parameter::Found { kind: "SecureString".to_owned(), last_modified: None }),
            ),
            ("/prod/region".to_owned(), Readable::Known(Parameter::NotFound)),
        ]),
    };
    let verdict = SecretsRotated::evaluate(&project, &facts, &Params::default());
    assert_eq!(verdict.compliance, Compliance::NonCompliant, "{}", verdict.reason);
    assert!(
        verdict
            .reason
            .ends_with("not read: secret `prod/db` (variable `DB_PASSWORD`): secretsmanager:DescribeSecret denied"),
        "{}",
        verdict.reason
    );
    facts.parameters.insert(
        "/prod/region".to_owned(),
        Readable::Known(Parameter::Found { kind: "String".to_owned(), last_modified: None }),
    );
    let verdict = SecretsRotated::evaluate(&project, &facts, &Params::default());
    assert_eq!(verdict.compliance, Compliance::NotApplicable, "{}", verdict.reason);
}

#[rstest]
#[case("prod/db", "prod/db")]
#[case("prod/db:password", "prod/db")]
#[case("prod/db:password:AWSCURRENT:", "prod/db")]
#[case(
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
)]
#[case(
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf:password::",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
)]
fn secret_ids(#[case] value: &str, #[case] id: &str) {
    assert_eq!(secret_id(value), id);
}

#[test]
fn max_age_days_is_bounded() {
    let parse = |raw: &str| pipesec_engine::params::parse::<Params>(Some(raw)).map(|parsed| parsed.rule.max_age_days);
    assert_eq!(parse(r#"{"maxAgeDays": "30"}"#).unwrap(), Some(30));
    assert!(parse(r#"{"maxAgeDays": "0"}"#).unwrap_err().to_string().contains("maxAgeDays"));
    assert!(parse(r#"{"maxAgeDays": "4000"}"#).is_err());
}
