//! # codebuild-project-service-role-least-privilege
//!
//! A CodeBuild project's service role must not grant more than builds need. A build runs
//! whatever its source, buildspec and dependencies say, with the role's permissions: an
//! administrator role turns a poisoned dependency or a malicious pull request into control of
//! the account. The role is over-privileged when it holds an administrator, power-user or
//! full-access AWS managed policy, or an Allow statement with `*` action, `NotAction`,
//! `iam:PassRole` on every role, or a write action on every resource (see
//! [`pipesec_engine::iam`] for the exact analysis and its limits). The annotation names each
//! policy (ARN, or inline policy name) and statement (Sid, else its index) at fault.
//!
//! The configuration item only names the role: its policies are read from IAM, once per
//! distinct role and once per distinct customer managed policy in an invocation (a sweep over
//! many projects sharing a role reads the role once). A change to the role does not trigger
//! rules scoped to projects: the periodic sweep is what notices it.
//!
//! - **Resource**: `AWS::CodeBuild::Project`
//! - **Trigger**: configuration change (including oversized), and periodic sweep (needed to
//!   notice role changes)
//! - **Parameters**: `allowedPolicyArns` (optional): comma-separated policy ARNs never reported
//!   (AWS or customer managed), e.g. a reviewed deployment policy that needs `iam:PassRole`.
//!
//! | scenario | verdict |
//! |---|---|
//! | inline policy scoped to the project's log group and artifact bucket | COMPLIANT |
//! | read-only actions (`s3:Get*`, `ec2:Describe*`) on `*` | COMPLIANT |
//! | a Deny of `*` on `*` next to scoped Allows | COMPLIANT |
//! | `AdministratorAccess`, `PowerUserAccess` or a `…FullAccess` policy attached | NON_COMPLIANT |
//! | customer managed policy allowing `*` on `*` | NON_COMPLIANT |
//! | inline Allow of a write action (`s3:PutObject`) on `*` | NON_COMPLIANT |
//! | inline Allow with `NotAction` | NON_COMPLIANT |
//! | inline Allow of `iam:PassRole` on `*` | NON_COMPLIANT |
//! | the offending policy is in `allowedPolicyArns` | COMPLIANT |
//! | the project has no service role | NOT_APPLICABLE |
//! | the service role no longer exists in IAM | NOT_APPLICABLE, role named |

use std::num::NonZeroUsize;
use std::sync::Arc;

use crate::common::params::AllowedPolicyArns;
use pipesec_engine::iam::{RoleFacts, Roles, role_name};
use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Aws, Result, Rule, Severity, Verdict};

pub const ID: &str = "codebuild-project-service-role-least-privilege";

#[derive(Debug)]
pub struct ServiceRoleLeastPrivilege;

impl Rule for ServiceRoleLeastPrivilege {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::High;
    const AREA: Area = Area::AccessControl;
    const WEIGHT: u32 = 5;
    const REMEDIATION: &'static str = "Detach the broad managed policies from the service role and grant only the \
         actions and resources the build needs (its log group, artifact bucket, KMS key, parameters).";
    const INPUTS: &'static [&'static str] = &["serviceRole"];
    const READS: &'static [&'static str] = pipesec_engine::iam::READ_ACTIONS;
    const PERIODIC: bool = true;
    /// IAM reads per role, about 4.5 each, at IAM's request rate: at scale a sweep continues across
    /// invocations, 200 projects and the rest of their roles' projects at a time (bench/README.md,
    /// "Sweeps at scale under emulated rate limits").
    const SWEEP_CHUNK: Option<NonZeroUsize> = NonZeroUsize::new(200);
    type Resource = CodeBuildProject;
    type Params = AllowedPolicyArns;
    /// What IAM holds for the project's service role; `None` when the project names none.
    type Facts = Option<Arc<RoleFacts>>;

    async fn gather(
        aws: &Aws,
        _: &AllowedPolicyArns,
        subjects: &[Subject<CodeBuildProject>],
    ) -> Result<Vec<Self::Facts>> {
        let roles = Roles::read(aws, subjects.iter().filter_map(service_role)).await?;
        Ok(subjects.iter().map(|subject| service_role(subject).and_then(|role| roles.get(role)).cloned()).collect())
    }

    /// The projects of one role are evaluated together, so a sweep in chunks reads the role once.
    fn sweep_group(subject: &Subject<CodeBuildProject>) -> Option<&str> {
        service_role(subject).map(role_name)
    }

    fn evaluate(subject: &Subject<CodeBuildProject>, facts: &Self::Facts, params: &AllowedPolicyArns) -> Verdict {
        let Some(reference) = service_role(subject) else {
            return Verdict::not_applicable("the project has no service role");
        };
        let role = match facts.as_deref() {
            Some(RoleFacts::Found(role)) => role,
            Some(RoleFacts::NotFound) => {
                return Verdict::not_applicable(format!("service role `{reference}` no longer exists in IAM"));
            }
            None => return Verdict::not_applicable(format!("service role `{reference}` does not name an IAM role")),
        };
        let findings: Vec<String> =
            role.findings(&params.allowed_policy_arns).iter().map(ToString::to_string).collect();
        if findings.is_empty() {
            Verdict::compliant(format!(
                "service role `{}` has no administrator, full-access or wildcard write permission",
                role.name
            ))
        } else {
            Verdict::non_compliant(format!("service role `{}` is over-privileged: {}", role.name, findings.join("; ")))
        }
    }
}

/// The project's service role (an ARN, or a bare name), if it has one.
fn service_role(subject: &Subject<CodeBuildProject>) -> Option<&str> {
    subject.resource.service_role.as_deref().map(str::trim).filter(|role| !role.is_empty())
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::{FakeIam, subject};

    const FULL_ACCESS: &str = "arn:aws:iam::aws:policy/AmazonS3FullAccess";
    const CI_EVERYTHING: &str = "arn:aws:iam::123456789012:policy/ci-everything";

    fn params(allowed: &[&str]) -> AllowedPolicyArns {
        AllowedPolicyArns { allowed_policy_arns: allowed.iter().map(|arn| (*arn).to_owned()).collect() }
    }

    /// Gathers the fixture project's role from the fixture IAM, then evaluates.
    async fn verdict(fixture: &str, allowed: &[&str]) -> Verdict {
        let iam = FakeIam::from_fixture(ID);
        let subjects = [subject(ID, fixture)];
        let params = params(allowed);
        let facts = ServiceRoleLeastPrivilege::gather(&iam.aws(), &params, &subjects).await.unwrap();
        ServiceRoleLeastPrivilege::evaluate(&subjects[0], &facts[0], &params)
    }

    #[rstest]
    #[case::least_privilege_inline_policy("compliant-least-privilege", &[], Compliance::Compliant)]
    #[case::read_only_actions_on_every_resource("compliant-read-only-anywhere", &[], Compliance::Compliant)]
    #[case::deny_of_everything("compliant-deny-everything", &[], Compliance::Compliant)]
    #[case::administrator_access("non-compliant-administrator-access", &[], Compliance::NonCompliant)]
    #[case::power_user_access("non-compliant-power-user", &[], Compliance::NonCompliant)]
    #[case::full_access_policy("non-compliant-full-access", &[], Compliance::NonCompliant)]
    #[case::customer_managed_everything("non-compliant-customer-managed-wildcard", &[], Compliance::NonCompliant)]
    #[case::inline_write_on_every_resource("non-compliant-inline-write-anywhere", &[], Compliance::NonCompliant)]
    #[case::not_action_allow("non-compliant-not-action", &[], Compliance::NonCompliant)]
    #[case::pass_role_on_every_role("non-compliant-pass-role", &[], Compliance::NonCompliant)]
    #[case::allow_listed_customer_policy(
        "non-compliant-customer-managed-wildcard",
        &[CI_EVERYTHING],
        Compliance::Compliant
    )]
    #[case::allow_listed_aws_policy("non-compliant-full-access", &[FULL_ACCESS], Compliance::Compliant)]
    #[case::another_policy_allow_listed("non-compliant-full-access", &[CI_EVERYTHING], Compliance::NonCompliant)]
    #[case::no_service_role("no-service-role", &[], Compliance::NotApplicable)]
    #[case::role_deleted("role-deleted", &[], Compliance::NotApplicable)]
    #[tokio::test]
    async fn scenario(#[case] fixture: &str, #[case] allowed: &[&str], #[case] expected: Compliance) {
        let verdict = verdict(fixture, allowed).await;
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[rstest]
    #[case::aws_managed_policy_by_arn(
        "non-compliant-administrator-access",
        "AWS managed policy `arn:aws:iam::aws:policy/AdministratorAccess` grants administrator access"
    )]
    #[case::customer_managed_policy_and_statement(
        "non-compliant-customer-managed-wildcard",
        "policy `arn:aws:iam::123456789012:policy/ci-everything` statement `Everything` allows every action"
    )]
    #[case::inline_policy_and_statement_index(
        "non-compliant-inline-write-anywhere",
        "inline policy `upload` Statement[1] allows write actions on every resource: s3:PutObject"
    )]
    #[case::role_deleted(
        "role-deleted",
        "service role `arn:aws:iam::123456789012:role/codebuild-retired-service-role` no longer exists in IAM"
    )]
    #[tokio::test]
    async fn reason_names_what_is_at_fault(#[case] fixture: &str, #[case] expected: &str) {
        let verdict = verdict(fixture, &[]).await;
        assert!(verdict.reason.contains(expected), "{}", verdict.reason);
    }

    #[tokio::test]
    async fn projects_sharing_a_role_read_it_once() {
        let iam = FakeIam::from_fixture(ID);
        let shared = subject::<CodeBuildProject>(ID, "non-compliant-inline-write-anywhere");
        let subjects: Vec<_> = (0..3)
            .map(|i| {
                let mut project = shared.clone();
                project.resource.name = Some(format!("upload-{i}"));
                project
            })
            .chain([subject(ID, "compliant-least-privilege"), subject(ID, "no-service-role")])
            .collect();
        let facts = ServiceRoleLeastPrivilege::gather(&iam.aws(), &params(&[]), &subjects).await.unwrap();
        assert_eq!(facts.len(), 5);
        assert_eq!(iam.calls("ListAttachedRolePolicies"), 2, "two distinct roles");
        assert_eq!(iam.calls("ListRolePolicies"), 2);
        assert!(Arc::ptr_eq(facts[0].as_ref().unwrap(), facts[2].as_ref().unwrap()), "one read, shared");
        assert!(facts[4].is_none());
    }
}
