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
