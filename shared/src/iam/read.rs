//! Reading roles' policies from IAM: each distinct role once, each distinct customer managed
//! policy once, per invocation.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, PoisonError};

use aws_sdk_iam::operation::get_policy::GetPolicyError;
use aws_sdk_iam::operation::get_policy_version::GetPolicyVersionError;
use aws_sdk_iam::operation::get_role_policy::GetRolePolicyError;
use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesError;
use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesError;

use super::analysis::{Finding, Policy, PolicyId, aws_managed_policy_name, findings};
use super::document::{DocumentError, PolicyDocument};
use crate::aws::Aws;
use crate::error::Result;

/// The IAM actions these reads call, for the least-privilege policy of the rules that use them.
pub const READ_ACTIONS: &[&str] = &[
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
];

/// A role and every policy it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    /// Attached (managed) policies in IAM's order, then inline policies.
    pub policies: Vec<Policy>,
}

impl Role {
    /// Why the role is over-privileged, ignoring the policies in `allowed_policy_arns`.
    pub fn findings(&self, allowed_policy_arns: &[String]) -> Vec<Finding> {
        findings(&self.policies, allowed_policy_arns)
    }
}

/// What IAM says about a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleFacts {
    Found(Role),
    /// IAM has no role of that name (`NoSuchEntity`): it was deleted, or never existed.
    NotFound,
}

/// The roles read in one invocation, looked up by ARN or name.
#[derive(Debug, Clone, Default)]
pub struct Roles(HashMap<String, Arc<RoleFacts>>);

impl Roles {
    /// Reads every distinct role among `roles` (ARNs or names; an ARN and the bare name of the
    /// same role are one role): `ListAttachedRolePolicies` (all pages), `ListRolePolicies` (all
    /// pages) and `GetRolePolicy` per inline policy; then `GetPolicy` and `GetPolicyVersion`
    /// (the default version) once per distinct customer managed policy. AWS managed policies
    /// are judged by name and not read. Reads are sequential: IAM's request quota is low.
    ///
    /// A role or policy read earlier in the same invocation (an earlier chunk of a sweep) is not
    /// read again ([`Aws::start_invocation`] forgets them).
    pub async fn read<'a>(aws: &Aws, roles: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        let names: BTreeSet<&str> = roles.into_iter().map(role_name).filter(|name| !name.is_empty()).collect();
        // Taken out while reading and put back after: the lock is not held across calls.
        let mut cache = std::mem::take(&mut *aws.iam_reads.lock().unwrap_or_else(PoisonError::into_inner));
        let result = read_missing(aws, &names, &mut cache).await;
        let read = names.iter().filter_map(|name| Some(((*name).to_owned(), Arc::clone(cache.roles.get(*name)?))));
        let roles = Roles(read.collect());
        *aws.iam_reads.lock().unwrap_or_else(PoisonError::into_inner) = cache;
        result.map(|()| roles)
    }

    /// The facts of a role that was read, by ARN or name.
    pub fn get(&self, arn_or_name: &str) -> Option<&Arc<RoleFacts>> {
        self.0.get(role_name(arn_or_name))
    }

    /// How many distinct roles were read.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Roles and customer managed policies read in the current invocation.
#[derive(Debug, Default)]
pub struct IamReads {
    roles: HashMap<String, Arc<RoleFacts>>,
    documents: DocumentCache,
}

/// Reads the roles among `names` that `cache` does not hold, into it.
async fn read_missing(aws: &Aws, names: &BTreeSet<&str>, cache: &mut IamReads) -> Result<()> {
    for name in names {
        if cache.roles.contains_key(*name) {
            continue;
        }
        // Boxed: the IAM futures nest deep enough to exceed rustc's layout depth limit in a
        // rule binary's handler otherwise.
        let facts = Box::pin(read_role(aws, name, &mut cache.documents)).await?;
        tracing::debug!(role = name, found = matches!(facts, RoleFacts::Found(_)), "role policies read");
        cache.roles.insert((*name).to_owned(), Arc::new(facts));
    }
    Ok(())
}

/// The role name in a role ARN (`arn:aws:iam::123456789012:role/service-role/build` → `build`),
/// or the name itself.
pub fn role_name(arn_or_name: &str) -> &str {
    let text = arn_or_name.trim();
    let resource = match text.strip_prefix("arn:") {
        Some(rest) => rest.splitn(5, ':').nth(4).unwrap_or_default(),
        None => text,
    };
    resource.rsplit('/').next().unwrap_or_default()
}

/// Customer managed policy documents already read, by ARN; `None` for a policy that is gone.
type DocumentCache = HashMap<String, Option<Result<PolicyDocument, DocumentError>>>;

async fn read_role(aws: &Aws, name: &str, documents: &mut DocumentCache) -> Result<RoleFacts> {
    let Some(attached) = attached_policy_arns(aws, name).await? else {
        return Ok(RoleFacts::NotFound);
    };
    let Some(inline) = inline_policy_names(aws, name).await? else {
        return Ok(RoleFacts::NotFound);
    };
    let mut policies = Vec::with_capacity(attached.len() + inline.len());
    for arn in attached {
        if aws_managed_policy_name(&arn).is_some() {
            policies.push(Policy { id: PolicyId::AwsManaged(arn), document: None });
            continue;
        }
        let document = if let Some(document) = documents.get(&arn) {
            document.clone()
        } else {
            let document = managed_policy_document(aws, &arn).await?;
            documents.insert(arn.clone(), document.clone());
            document
        };
        // A policy deleted since the listing grants nothing any more.
        if let Some(document) = document {
            policies.push(Policy { id: PolicyId::CustomerManaged(arn), document: Some(document) });
        }
    }
    for policy_name in inline {
        if let Some(text) = inline_policy_document(aws, name, &policy_name).await? {
            policies.push(Policy { id: PolicyId::Inline(policy_name), document: Some(PolicyDocument::parse(&text)) });
        }
    }
    Ok(RoleFacts::Found(Role { name: name.to_owned(), policies }))
}

/// The ARNs of the role's attached policies; `None` if the role does not exist.
async fn attached_policy_arns(aws: &Aws, role: &str) -> Result<Option<Vec<String>>> {
    let mut pages = aws.iam().list_attached_role_policies().role_name(role).into_paginator().send();
    let mut arns = Vec::new();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => arns.extend(page.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_owned))),
            Err(err)
                if err.as_service_error().is_some_and(ListAttachedRolePoliciesError::is_no_such_entity_exception) =>
            {
                return Ok(None);
            }
            Err(err) => return Err(aws.error("iam:ListAttachedRolePolicies", err)),
        }
    }
    Ok(Some(arns))
}

/// The names of the role's inline policies; `None` if the role does not exist.
async fn inline_policy_names(aws: &Aws, role: &str) -> Result<Option<Vec<String>>> {
    let mut pages = aws.iam().list_role_policies().role_name(role).into_paginator().send();
    let mut names = Vec::new();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => names.extend(page.policy_names().iter().cloned()),
            Err(err) if err.as_service_error().is_some_and(ListRolePoliciesError::is_no_such_entity_exception) => {
                return Ok(None);
            }
            Err(err) => return Err(aws.error("iam:ListRolePolicies", err)),
        }
    }
    Ok(Some(names))
}

/// An inline policy's document as IAM returns it (URL-encoded); `None` if it is gone.
async fn inline_policy_document(aws: &Aws, role: &str, policy: &str) -> Result<Option<String>> {
    match aws.iam().get_role_policy().role_name(role).policy_name(policy).send().await {
        Ok(output) => Ok(Some(output.policy_document().to_owned())),
        Err(err) if err.as_service_error().is_some_and(GetRolePolicyError::is_no_such_entity_exception) => Ok(None),
        Err(err) => Err(aws.error("iam:GetRolePolicy", err)),
    }
}

/// The default version's document of a customer managed policy; `None` if the policy is gone.
async fn managed_policy_document(aws: &Aws, arn: &str) -> Result<Option<Result<PolicyDocument, DocumentError>>> {
    let policy = match aws.iam().get_policy().policy_arn(arn).send().await {
        Ok(output) => output,
        Err(err) if err.as_service_error().is_some_and(GetPolicyError::is_no_such_entity_exception) => return Ok(None),
        Err(err) => return Err(aws.error("iam:GetPolicy", err)),
    };
    let Some(version) = policy.policy().and_then(|policy| policy.default_version_id()) else {
        return Ok(Some(Err(DocumentError::new("GetPolicy returned no default version"))));
    };
    let output = match aws.iam().get_policy_version().policy_arn(arn).version_id(version).send().await {
        Ok(output) => output,
        Err(err) if err.as_service_error().is_some_and(GetPolicyVersionError::is_no_such_entity_exception) => {
            return Ok(None);
        }
        Err(err) => return Err(aws.error("iam:GetPolicyVersion", err)),
    };
    let document = output.policy_version().and_then(|version| version.document());
    Ok(Some(document.map_or_else(
        || Err(DocumentError::new(format!("GetPolicyVersion returned no document for version {version}"))),
        PolicyDocument::parse,
    )))
}

#[cfg(test)]
mod tests {
    use aws_sdk_iam::Client as Iam;
    use aws_sdk_iam::error::ErrorMetadata;
    use aws_sdk_iam::operation::get_policy::GetPolicyOutput;
    use aws_sdk_iam::operation::get_policy_version::GetPolicyVersionOutput;
    use aws_sdk_iam::operation::get_role_policy::GetRolePolicyOutput;
    use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
    use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
    use aws_sdk_iam::types::error::NoSuchEntityException;
    use aws_sdk_iam::types::{AttachedPolicy, PolicyVersion};
    use aws_smithy_mocks::{Rule as MockRule, RuleMode, mock, mock_client};
    use rstest::rstest;

    use super::*;
    use crate::iam::Problem;

    const ACCOUNT: &str = "123456789012";
    const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
    /// `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}`,
    /// URL-encoded as IAM returns it.
    const ENCODED_PUT_ANYWHERE: &str = concat!(
        "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C",
        "%22Action%22%3A%22s3%3APutObject%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D"
    );
    /// `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, URL-encoded.
    const ENCODED_ALL: &str = concat!(
        "%7B%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C",
        "%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%7D"
    );

    fn aws_with(iam: Iam) -> Aws {
        Aws::for_tests().with_iam(iam).acting_as_principal("role `arn:aws:iam::123456789012:role/pipesec-reader`")
    }

    fn customer_policy(name: &str) -> String {
        format!("arn:aws:iam::{ACCOUNT}:policy/{name}")
    }

    fn no_such_entity() -> ErrorMetadata {
        ErrorMetadata::builder().code("NoSuchEntity").message("The role cannot be found.").build()
    }

    /// A role's name, attached policy ARNs and inline policies (name, document).
    type FakeRole = (&'static str, &'static [&'static str], &'static [(&'static str, &'static str)]);

    /// An IAM where roles hold the given attached policy ARNs and inline documents; every
    /// customer managed policy's default version is `ENCODED_ALL`.
    struct FakeIam {
        attached: MockRule,
        inline_names: MockRule,
        inline_documents: MockRule,
        get_policy: MockRule,
        get_policy_version: MockRule,
    }

    impl FakeIam {
        fn new(roles: &'static [FakeRole]) -> Self {
            let role = move |name: &str| roles.iter().find(|(role, _, _)| *role == name).copied();
            let attached = mock!(Iam::list_attached_role_policies).then_compute_response(move |request| {
                match role(request.role_name().unwrap()) {
                    Some((_, arns, _)) => aws_smithy_mocks::MockResponse::Output(
                        ListAttachedRolePoliciesOutput::builder()
                            .set_attached_policies(Some(
                                arns.iter().map(|arn| AttachedPolicy::builder().policy_arn(*arn).build()).collect(),
                            ))
                            .build(),
                    ),
                    None => {
                        aws_smithy_mocks::MockResponse::Error(ListAttachedRolePoliciesError::NoSuchEntityException(
                            NoSuchEntityException::builder().meta(no_such_entity()).build(),
                        ))
                    }
                }
            });
            let inline_names = mock!(Iam::list_role_policies).then_compute_output(move |request| {
                let names = role(request.role_name().unwrap()).map(|(_, _, inline)| inline).unwrap_or_default();
                ListRolePoliciesOutput::builder()
                    .set_policy_names(Some(names.iter().map(|(name, _)| (*name).to_owned()).collect()))
                    .build()
                    .unwrap()
            });
            let inline_documents = mock!(Iam::get_role_policy).then_compute_output(move |request| {
                let (_, _, inline) = role(request.role_name().unwrap()).unwrap();
                let policy = request.policy_name().unwrap();
                let (_, document) = inline.iter().find(|(name, _)| *name == policy).unwrap();
                GetRolePolicyOutput::builder()
                    .role_name(request.role_name().unwrap())
                    .policy_name(policy)
                    .policy_document(*document)
                    .build()
                    .unwrap()
            });
            let get_policy = mock!(Iam::get_policy).then_compute_output(|request| {
                let policy = aws_sdk_iam::types::Policy::builder()
                    .arn(request.policy_arn().unwrap())
                    .default_version_id("v3")
                    .build();
                GetPolicyOutput::builder().policy(policy).build()
            });
            let get_policy_version = mock!(Iam::get_policy_version)
                .match_requests(|request| request.version_id() == Some("v3"))
                .then_output(|| {
                    let version =
                        PolicyVersion::builder().version_id("v3").is_default_version(true).document(ENCODED_ALL);
                    GetPolicyVersionOutput::builder().policy_version(version.build()).build()
                });
            FakeIam { attached, inline_names, inline_documents, get_policy, get_policy_version }
        }

        fn aws(&self) -> Aws {
            let rules = [
                &self.attached,
                &self.inline_names,
                &self.inline_documents,
                &self.get_policy,
                &self.get_policy_version,
            ];
            aws_with(mock_client!(aws_sdk_iam, RuleMode::MatchAny, rules))
        }
    }

    #[tokio::test]
    async fn projects_sharing_a_role_read_it_once() {
        let iam = FakeIam::new(&[("shared-build", &[], &[("s3", ENCODED_PUT_ANYWHERE)])]);
        let references = [
            format!("arn:aws:iam::{ACCOUNT}:role/service-role/shared-build"),
            "shared-build".to_owned(),
            format!("arn:aws:iam::{ACCOUNT}:role/shared-build"),
        ];
        let roles = Roles::read(&iam.aws(), references.iter().map(String::as_str)).await.unwrap();
        assert_eq!(roles.len(), 1);
        assert_eq!(
            (iam.attached.num_calls(), iam.inline_names.num_calls(), iam.inline_documents.num_calls()),
            (1, 1, 1)
        );
        for reference in &references {
            let RoleFacts::Found(role) = roles.get(reference).unwrap().as_ref() else {
                panic!("{reference} not found")
            };
            assert_eq!(
                role.findings(&[])[0].problem,
                Problem::WriteOnEveryResource { actions: vec!["s3:PutObject".to_owned()] }
            );
        }
    }

    #[tokio::test]
    async fn a_customer_managed_policy_is_read_once_for_all_roles() {
        const BROAD: [&str; 2] = ["arn:aws:iam::123456789012:policy/broad", ADMIN];
        const ONLY_CUSTOMER: [&str; 1] = ["arn:aws:iam::123456789012:policy/broad"];
        let iam = FakeIam::new(&[("build-a", &BROAD, &[]), ("build-b", &BROAD, &[]), ("build-c", &ONLY_CUSTOMER, &[])]);
        let roles = Roles::read(&iam.aws(), ["build-a", "build-b", "build-c"]).await.unwrap();
        assert_eq!(roles.len(), 3);
        assert_eq!(
            (iam.attached.num_calls(), iam.get_policy.num_calls(), iam.get_policy_version.num_calls()),
            (3, 1, 1)
        );
        let RoleFacts::Found(role) = roles.get("build-a").unwrap().as_ref() else { panic!("build-a not found") };
        let found: Vec<String> = role.findings(&[]).iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            [
                format!("policy `{}` Statement[0] allows every action (`*`)", customer_policy("broad")),
                format!("AWS managed policy `{ADMIN}` grants administrator access"),
            ]
        );
    }

    #[tokio::test]
    async fn a_role_that_does_not_exist_is_a_fact() {
        let iam = FakeIam::new(&[]);
        let roles = Roles::read(&iam.aws(), ["arn:aws:iam::123456789012:role/deleted"]).await.unwrap();
        assert_eq!(roles.get("deleted").map(AsRef::as_ref), Some(&RoleFacts::NotFound));
        assert_eq!(iam.inline_names.num_calls(), 0, "nothing more is read about a missing role");
    }

    #[tokio::test]
    async fn every_page_of_attached_policies_is_read() {
        let pages = mock!(Iam::list_attached_role_policies).then_compute_output(|request| {
            let (arn, marker) = match request.marker() {
                None => ("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", Some("page-2")),
                Some(_) => ("arn:aws:iam::aws:policy/PowerUserAccess", None),
            };
            ListAttachedRolePoliciesOutput::builder()
                .attached_policies(AttachedPolicy::builder().policy_arn(arn).build())
                .is_truncated(marker.is_some())
                .set_marker(marker.map(str::to_owned))
                .build()
        });
        let inline = mock!(Iam::list_role_policies)
            .then_output(|| ListRolePoliciesOutput::builder().set_policy_names(Some(Vec::new())).build().unwrap());
        let aws = aws_with(mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&pages, &inline]));
        let roles = Roles::read(&aws, ["paged"]).await.unwrap();
        assert_eq!(pages.num_calls(), 2);
        let RoleFacts::Found(role) = roles.get("paged").unwrap().as_ref() else { panic!("paged not found") };
        assert_eq!(role.policies.len(), 2);
        assert_eq!(role.findings(&[]).len(), 1, "PowerUserAccess, on the second page");
    }

    #[rstest]
    #[case::access_denied(
        "AccessDenied",
        "AccessDeniedException",
        "role `arn:aws:iam::123456789012:role/pipesec-reader`"
    )]
    #[case::service_failure("ServiceFailure", "AwsServiceException", "ServiceFailure")]
    #[tokio::test]
    async fn failed_reads_name_the_action(#[case] code: &'static str, #[case] error_type: &str, #[case] named: &str) {
        let denied = mock!(Iam::list_attached_role_policies).then_error(move || {
            ListAttachedRolePoliciesError::generic(ErrorMetadata::builder().code(code).message("no").build())
        });
        let aws = aws_with(mock_client!(aws_sdk_iam, [&denied]));
        let err = Roles::read(&aws, ["build"]).await.unwrap_err();
        assert_eq!(err.error_type(), error_type);
        assert!(err.to_string().contains("iam:ListAttachedRolePolicies"), "{err}");
        assert!(err.to_string().contains(named), "{err}");
    }

    #[rstest]
    #[case::arn_with_path("arn:aws:iam::123456789012:role/service-role/build", "build")]
    #[case::arn("arn:aws-us-gov:iam::123456789012:role/build", "build")]
    #[case::name(" build ", "build")]
    #[case::empty("", "")]
    fn role_names(#[case] reference: &str, #[case] expected: &str) {
        assert_eq!(role_name(reference), expected);
    }
}
