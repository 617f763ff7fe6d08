//! # codepipeline-service-role-least-privilege
//!
//! A pipeline's service role, and every action-level role (`roleArn` on an action, assumed for
//! that action, often in another account), must not grant more than the pipeline needs: a
//! pipeline that can do anything turns a compromised source repository into control of every
//! account it deploys to. Same analysis as `codebuild-project-service-role-least-privilege`
//! ([`pipesec_engine::iam`]): administrator, power-user or full-access AWS managed policies, or
//! Allow statements with `*` action, `NotAction`, `iam:PassRole` on every role, or a write action
//! on every resource. The annotation names the role (pipeline or action), policy and statement.
//!
//! Roles are read from IAM once per distinct role per invocation (a sweep over many pipelines
//! sharing roles reads each once). Role changes do not notify pipeline rules: the periodic sweep
//! notices them.
//!
//! - **Resource**: `AWS::CodePipeline::Pipeline`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: `allowedPolicyArns` (optional): comma-separated policy ARNs never reported.
//!
//! | scenario | verdict |
//! |---|---|
//! | pipeline and action roles scoped to what they use | COMPLIANT |
//! | the pipeline role has AdministratorAccess | NON_COMPLIANT, naming the role and policy |
//! | an action-level role allows `iam:PassRole` on every role | NON_COMPLIANT, naming the action |
//! | the offending policy is in `allowedPolicyArns` | COMPLIANT |
//! | a role no longer exists | NOT_APPLICABLE for that role (named); others still judged |

use std::collections::BTreeMap;
use std::sync::Arc;

use pipesec_engine::iam::{RoleFacts, Roles};
use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Aws, Result, Rule, Severity, Verdict};

use crate::common::pipeline;

pub const ID: &str = "codepipeline-service-role-least-privilege";

/// The same parameter as the CodeBuild rule: policies never reported.
use crate::common::params::AllowedPolicyArns;

#[derive(Debug)]
pub struct ServiceRoleLeastPrivilege;

/// Each role the pipeline uses, by the reference it uses it by.
pub type PipelineRoles = BTreeMap<String, Arc<RoleFacts>>;

/// Every role the pipeline uses, with who uses it: the pipeline, or an action.
fn role_users(subject: &Subject<PipelineConfiguration>) -> Vec<(String, &str)> {
    let pipeline = &subject.resource.pipeline;
    let own = pipeline.role_arn.iter().map(|role| ("the pipeline role".to_owned(), role.as_str()));
    let actions = pipeline::actions(pipeline).into_iter().filter_map(|staged| {
        let role = staged.action.role_arn.as_deref()?;
        Some((format!("the role of {}", staged.describe()), role))
    });
    own.chain(actions).filter(|(_, role)| !role.trim().is_empty()).collect()
}

impl Rule for ServiceRoleLeastPrivilege {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::High;
    const AREA: Area = Area::AccessControl;
    const WEIGHT: u32 = 5;
    const REMEDIATION: &'static str = "Detach broad managed policies from the pipeline and action roles and grant only \
         what each stage needs (its artifact bucket and key, the CodeBuild projects, the deploy roles to pass).";
    const INPUTS: &'static [&'static str] = &["pipeline.roleArn", "pipeline.stages.actions.roleArn"];
    const READS: &'static [&'static str] = pipesec_engine::iam::READ_ACTIONS;
    const PERIODIC: bool = true;
    type Resource = PipelineConfiguration;
    type Params = AllowedPolicyArns;
    type Facts = PipelineRoles;

    async fn gather(
        aws: &Aws,
        _: &AllowedPolicyArns,
        subjects: &[Subject<PipelineConfiguration>],
    ) -> Result<Vec<PipelineRoles>> {
        let references: Vec<&str> =
            subjects.iter().flat_map(|s| role_users(s).into_iter().map(|(_, role)| role)).collect();
        let roles = Roles::read(aws, references).await?;
        Ok(subjects
            .iter()
            .map(|subject| {
                role_users(subject)
                    .into_iter()
                    .filter_map(|(_, role)| Some((role.to_owned(), Arc::clone(roles.get(role)?))))
                    .collect()
            })
            .collect())
    }

    fn evaluate(
        subject: &Subject<PipelineConfiguration>,
        roles: &PipelineRoles,
        params: &AllowedPolicyArns,
    ) -> Verdict {
        let users = role_users(subject);
        if users.is_empty() {
            return Verdict::not_applicable("the pipeline names no role");
        }
        let mut findings = Vec::new();
        let mut missing = Vec::new();
        for (user, reference) in &users {
            match roles.get(*reference).map(Arc::as_ref) {
                Some(RoleFacts::Found(role)) => {
                    let problems: Vec<String> =
                        role.findings(&params.allowed_policy_arns).iter().map(ToString::to_string).collect();
                    if !problems.is_empty() {
                        findings.push(format!("{user} `{}` is over-privileged: {}", role.name, problems.join("; ")));
                    }
                }
                _ => missing.push(format!("{user} `{reference}`")),
            }
        }
        if !findings.is_empty() {
            Verdict::non_compliant(findings.join("; "))
        } else if missing.len() == users.len() {
            Verdict::not_applicable(format!("no longer in IAM: {}", missing.join(", ")))
        } else if missing.is_empty() {
            Verdict::compliant(
                "the pipeline and action roles have no administrator, full-access or wildcard write permission",
            )
        } else {
            Verdict::compliant(format!("the roles found are least-privilege; no longer in IAM: {}", missing.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::{FakeIam, list, subject};

    async fn verdict(fixture: &str, allowed: &[&str]) -> Verdict {
        let iam = FakeIam::from_fixture(ID);
        let subjects = [subject(ID, fixture)];
        let params = AllowedPolicyArns { allowed_policy_arns: list(allowed) };
        let facts = ServiceRoleLeastPrivilege::gather(&iam.aws(), &params, &subjects).await.unwrap();
        ServiceRoleLeastPrivilege::evaluate(&subjects[0], &facts[0], &params)
    }

    #[rstest]
    #[case::least_privilege_roles("compliant-least-privilege", &[], Compliance::Compliant)]
    #[case::admin_pipeline_role("non-compliant-admin-pipeline-role", &[], Compliance::NonCompliant)]
    #[case::over_privileged_action_role("non-compliant-action-role", &[], Compliance::NonCompliant)]
    #[case::allow_listed("non-compliant-admin-pipeline-role", &["arn:aws:iam::aws:policy/AdministratorAccess"], Compliance::Compliant)]
    #[case::role_deleted("role-deleted", &[], Compliance::NotApplicable)]
    #[tokio::test]
    async fn scenario(#[case] fixture: &str, #[case] allowed: &[&str], #[case] expected: Compliance) {
        let verdict = verdict(fixture, allowed).await;
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[tokio::test]
    async fn reason_names_the_action_role() {
        let verdict = verdict("non-compliant-action-role", &[]).await;
        assert!(
            verdict.reason.contains("the role of stage `Deploy` action `Deploy` `codebuild-cdk-deploy`"),
            "{}",
            verdict.reason
        );
    }

    #[tokio::test]
    async fn pipelines_sharing_roles_read_each_once() {
        let iam = FakeIam::from_fixture(ID);
        let subjects: Vec<_> = (0..4).map(|_| subject(ID, "compliant-least-privilege")).collect();
        ServiceRoleLeastPrivilege::gather(&iam.aws(), &AllowedPolicyArns::default(), &subjects).await.unwrap();
        assert_eq!(iam.calls("ListAttachedRolePolicies"), 1);
    }
}
