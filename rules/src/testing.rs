//! Test helpers: fixtures are real-shaped configuration items (event model) in
//! `fixtures/<rule-id>/<scenario>.json`, and an IAM account for rules that read roles.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use aws_sdk_iam::Client as Iam;
use aws_sdk_iam::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_iam::config::{ConfigBag, Intercept, Region, RuntimeComponents};
use aws_sdk_iam::error::BoxError;
use aws_sdk_iam::operation::get_policy::GetPolicyOutput;
use aws_sdk_iam::operation::get_policy_version::GetPolicyVersionOutput;
use aws_sdk_iam::operation::get_role_policy::GetRolePolicyOutput;
use aws_sdk_iam::operation::list_attached_role_policies::{
    ListAttachedRolePoliciesError, ListAttachedRolePoliciesOutput,
};
use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
use aws_sdk_iam::types::error::NoSuchEntityException;
use aws_sdk_iam::types::{AttachedPolicy, PolicyVersion};
use aws_smithy_mocks::{MockResponse, Rule as MockRule, RuleMode, mock, mock_client};
use pipesec_engine::rule::Subject;
use pipesec_engine::{Aws, ConfigurationItem, Resource};
use serde::Deserialize;

pub fn fixture_path(rule_id: &str, scenario: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rule_id).join(format!("{scenario}.json"))
}

pub fn item(rule_id: &str, scenario: &str) -> ConfigurationItem {
    let path = fixture_path(rule_id, scenario);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    ConfigurationItem::from_value(&value).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

pub fn subject<R: Resource>(rule_id: &str, scenario: &str) -> Subject<R> {
    Subject::from_item(item(rule_id, scenario)).unwrap_or_else(|err| panic!("{rule_id}/{scenario}: {err}"))
}

/// Owned strings, for parameter lists in tests.
pub fn list(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

/// An IAM account described by `fixtures/<rule-id>/iam.json`, served by mocked IAM clients:
/// `roles` (name → `attachedPolicies` ARNs and `inlinePolicies` name → document) and `policies`
/// (customer managed ARN → `defaultVersionId` and `document`). Documents are as IAM returns
/// them (URL-encoded). A role absent from the file does not exist (`NoSuchEntity`).
#[derive(Debug)]
pub struct FakeIam {
    rules: Vec<(&'static str, MockRule)>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IamFixture {
    roles: HashMap<String, FakeRole>,
    policies: HashMap<String, FakePolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FakeRole {
    #[serde(default)]
    attached_policies: Vec<String>,
    #[serde(default)]
    inline_policies: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FakePolicy {
    default_version_id: String,
    document: String,
}

impl FakeIam {
    pub fn from_fixture(rule_id: &str) -> Self {
        let path = fixture_path(rule_id, "iam");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let state: Arc<IamFixture> =
            Arc::new(serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display())));

        let iam = Arc::clone(&state);
        let attached = mock!(Iam::list_attached_role_policies).then_compute_response(move |request| {
            match iam.roles.get(request.role_name().unwrap_or_default()) {
                Some(role) => MockResponse::Output(
                    ListAttachedRolePoliciesOutput::builder()
                        .set_attached_policies(Some(
                            role.attached_policies
                                .iter()
                                .map(|arn| {
                                    let name = arn.rsplit('/').next().unwrap_or_default();
                                    AttachedPolicy::builder().policy_arn(arn).policy_name(name).build()
                                })
                                .collect(),
                        ))
                        .build(),
                ),
                None => MockResponse::Error(ListAttachedRolePoliciesError::NoSuchEntityException(
                    NoSuchEntityException::builder().message("The role cannot be found.").build(),
                )),
            }
        });
        let iam = Arc::clone(&state);
        let inline_names = mock!(Iam::list_role_policies).then_compute_output(move |request| {
            let role = &iam.roles[request.role_name().unwrap_or_default()];
            ListRolePoliciesOutput::builder()
                .set_policy_names(Some(role.inline_policies.keys().cloned().collect()))
                .build()
                .unwrap()
        });
        let iam = Arc::clone(&state);
        let inline_document = mock!(Iam::get_role_policy).then_compute_output(move |request| {
            let (role, policy) = (request.role_name().unwrap_or_default(), request.policy_name().unwrap_or_default());
            GetRolePolicyOutput::builder()
                .role_name(role)
                .policy_name(policy)
                .policy_document(&iam.roles[role].inline_policies[policy])
                .build()
                .unwrap()
        });
        let iam = Arc::clone(&state);
        let policy = mock!(Iam::get_policy).then_compute_output(move |request| {
            let arn = request.policy_arn().unwrap_or_default();
            let policy = &iam.policies[arn];
            GetPolicyOutput::builder()
                .policy(
                    aws_sdk_iam::types::Policy::builder()
                        .arn(arn)
                        .default_version_id(&policy.default_version_id)
                        .build(),
                )
                .build()
        });
        let iam = state;
        let version = mock!(Iam::get_policy_version).then_compute_output(move |request| {
            let policy = &iam.policies[request.policy_arn().unwrap_or_default()];
            assert_eq!(request.version_id(), Some(policy.default_version_id.as_str()), "the default version is read");
            let version = PolicyVersion::builder()
                .version_id(&policy.default_version_id)
                .is_default_version(true)
                .document(&policy.document)
                .build();
            GetPolicyVersionOutput::builder().policy_version(version).build()
        });
        FakeIam {
            rules: vec![
                ("ListAttachedRolePolicies", attached),
                ("ListRolePolicies", inline_names),
                ("GetRolePolicy", inline_document),
                ("GetPolicy", policy),
                ("GetPolicyVersion", version),
            ],
        }
    }

    /// Clients whose IAM is this account (the others are never called).
    pub fn aws(&self) -> Aws {
        let rules: Vec<&MockRule> = self.rules.iter().map(|(_, rule)| rule).collect();
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, &rules);
        Aws::for_tests().with_iam(iam)
    }

    /// How many times an IAM operation (e.g. `ListAttachedRolePolicies`) was called.
    pub fn calls(&self, operation: &str) -> usize {
        self.rules.iter().find(|(name, _)| *name == operation).map_or(0, |(_, rule)| rule.num_calls())
    }
}

/// A sleep for mocked CloudTrail clients: the lookups' pacing pauses end at once, the SDK's own
/// sleeps (its timeouts) never.
pub fn instant_sleep() -> aws_sdk_cloudtrail::config::SharedAsyncSleep {
    #[derive(Debug)]
    struct Instant;
    impl aws_sdk_cloudtrail::config::AsyncSleep for Instant {
        fn sleep(&self, duration: std::time::Duration) -> aws_sdk_cloudtrail::config::Sleep {
            if duration == crate::common::cloudtrail::LOOKUP_INTERVAL {
                aws_sdk_cloudtrail::config::Sleep::new(std::future::ready(()))
            } else {
                aws_sdk_cloudtrail::config::Sleep::new(std::future::pending())
            }
        }
    }
    aws_sdk_cloudtrail::config::SharedAsyncSleep::new(Instant)
}

/// The region of each request, as the client's configuration has it when the request is built.
/// An interceptor of any SDK client (they share the runtime's trait); registered before a mock,
/// so that the mock's answer can depend on it.
#[derive(Debug, Clone, Default)]
pub struct RequestRegions(pub Arc<Mutex<Vec<String>>>);

impl Intercept for RequestRegions {
    fn name(&self) -> &'static str {
        "record-regions"
    }

    fn read_before_serialization(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let region = cfg.load::<Region>().map(ToString::to_string).unwrap_or_default();
        self.0.lock().unwrap().push(region);
        Ok(())
    }
}

/// An account's secrets and parameters as Secrets Manager and Parameter Store describe them, for
/// the secret rotation rules. Secrets: `prod/db` (rotated 10 days ago), `legacy/token` (rotation
/// off, created 30 days ago), `old/token` (rotated 200 days ago), and
/// `arn:aws:secretsmanager:eu-west-1:123456789012:secret:deploy/token-AbCdEf` (never rotated,
/// created 5 days ago). SecureString parameters `/prod/api/key` (changed 20 days ago) and
/// `/legacy/api-key` (400 days ago); the `String` parameter `/prod/region` (900 days ago).
/// Anything else does not exist.
pub struct FakeSecrets {
    pub describe_secret: MockRule,
    pub describe_parameters: MockRule,
    pub regions: RequestRegions,
}

impl FakeSecrets {
    pub fn new() -> Self {
        use aws_sdk_secretsmanager::operation::describe_secret::{DescribeSecretError, DescribeSecretOutput};
        use aws_sdk_secretsmanager::primitives::DateTime;
        use aws_sdk_secretsmanager::types::error::ResourceNotFoundException;
        use aws_sdk_ssm::operation::describe_parameters::DescribeParametersOutput;
        use aws_sdk_ssm::types::{ParameterMetadata, ParameterType};

        const DAY: i64 = 86_400;
        fn days_ago(days: i64) -> DateTime {
            DateTime::from_secs(jiff::Timestamp::now().as_second() - days * DAY)
        }
        let describe_secret = mock!(aws_sdk_secretsmanager::Client::describe_secret).then_compute_response(|request| {
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
        let describe_parameters = mock!(aws_sdk_ssm::Client::describe_parameters).then_compute_output(|request| {
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
        FakeSecrets { describe_secret, describe_parameters, regions: RequestRegions::default() }
    }

    /// Clients whose Secrets Manager (recording each request's region) and Parameter Store are
    /// this account's.
    pub fn aws(&self) -> Aws {
        let mock = aws_smithy_mocks::MockResponseInterceptor::new()
            .rule_mode(RuleMode::MatchAny)
            .with_rule(&self.describe_secret);
        let secrets = aws_sdk_secretsmanager::Config::builder()
            .with_test_defaults_v2()
            .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(self.regions.clone())
            .interceptor(mock)
            .build();
        let ssm = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [&self.describe_parameters]);
        Aws::for_tests().with_secretsmanager(aws_sdk_secretsmanager::Client::from_conf(secrets)).with_ssm(ssm)
    }
}
