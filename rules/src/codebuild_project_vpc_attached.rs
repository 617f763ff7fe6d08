//! # codebuild-project-vpc-attached
//!
//! A CodeBuild project must run its builds inside a VPC, with subnets and security groups:
//! outside one, builds reach the internet and AWS endpoints without any network control, so a
//! compromised build step can exfiltrate freely.
//!
//! - **Resource**: `AWS::CodeBuild::Project`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: `exemptedProjects` (optional): comma-separated project names not checked.
//!
//! | scenario | verdict |
//! |---|---|
//! | `vpcConfig` with a VPC, subnets and security groups | COMPLIANT |
//! | no `vpcConfig` | NON_COMPLIANT |
//! | `vpcConfig` missing subnets or security groups | NON_COMPLIANT, naming what is missing |
//! | not in a VPC, project in `exemptedProjects` | COMPLIANT, exemption named |

use crate::common::exemptions::ExemptedProjects;
use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Rule, Severity, Verdict};

pub const ID: &str = "codebuild-project-vpc-attached";

#[derive(Debug)]
pub struct VpcAttached;

impl Rule for VpcAttached {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Medium;
    const AREA: Area = Area::Infrastructure;
    const WEIGHT: u32 = 2;
    const REMEDIATION: &'static str = "Attach the project to a VPC (vpcConfig with private subnets and a restrictive security group), with egress limited to what builds need.";
    const INPUTS: &'static [&'static str] = &["vpcConfig"];
    // Only whether a VPC, subnets and security groups are there counts.
    const UNKNOWN_TOLERANT: &'static [&'static str] =
        &["vpcConfig.vpcId", "vpcConfig.subnets", "vpcConfig.securityGroupIds"];
    const PARAMETER_INPUTS: &'static [(&'static str, &'static str)] = &[("exemptedProjects", "name")];
    type Resource = CodeBuildProject;
    type Params = ExemptedProjects;
    type Facts = ();

    fn evaluate(subject: &Subject<CodeBuildProject>, (): &(), params: &ExemptedProjects) -> Verdict {
        let name = subject.project_name();
        let missing: Vec<&str> = match &subject.resource.vpc_config {
            None => vec!["vpcConfig"],
            Some(vpc) => [
                (vpc.vpc_id.as_deref().is_none_or(str::is_empty), "a VPC id"),
                (vpc.subnets.is_empty(), "subnets"),
                (vpc.security_group_ids.is_empty(), "security groups"),
            ]
            .into_iter()
            .filter_map(|(absent, what)| absent.then_some(what))
            .collect(),
        };
        if missing.is_empty() {
            Verdict::compliant("builds run in a VPC with subnets and security groups")
        } else if params.exempts(name) {
            Verdict::compliant(format!("builds run outside a VPC; project `{name}` is exempted by exemptedProjects"))
        } else {
            Verdict::non_compliant(format!(
                "builds run outside a VPC (missing {}): their network access is not controlled",
                missing.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::{list, subject};

    #[rstest]
    #[case::in_a_vpc("compliant-vpc", &[], Compliance::Compliant)]
    #[case::no_vpc("non-compliant-no-vpc", &[], Compliance::NonCompliant)]
    #[case::vpc_without_subnets("non-compliant-no-subnets", &[], Compliance::NonCompliant)]
    #[case::exempted("non-compliant-no-vpc", &["api-service"], Compliance::Compliant)]
    fn scenario(#[case] fixture: &str, #[case] exempted: &[&str], #[case] expected: Compliance) {
        let verdict =
            VpcAttached::evaluate(&subject(ID, fixture), &(), &ExemptedProjects { exempted_projects: list(exempted) });
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[test]
    fn reason_names_what_is_missing() {
        let verdict =
            VpcAttached::evaluate(&subject(ID, "non-compliant-no-subnets"), &(), &ExemptedProjects::default());
        assert!(verdict.reason.contains("missing subnets"), "{}", verdict.reason);
    }
}
