//! # codebuild-project-privileged-mode-disabled
//!
//! A CodeBuild project must not run its builds in privileged mode: a privileged build container
//! can reach the Docker daemon with root rights on the build host, so anything the build runs
//! (a dependency's install script, a pull request's buildspec) can escape the container.
//! Parity: AWS Config's `codebuild-project-environment-privileged-check` (same parameter).
//!
//! - **Resource**: `AWS::CodeBuild::Project`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: `exemptedProjects` (optional): comma-separated project names allowed to
//!   build in privileged mode, e.g. projects that build Docker images.
//!
//! | scenario | verdict |
//! |---|---|
//! | `privilegedMode` false or absent | COMPLIANT |
//! | `privilegedMode` true | NON_COMPLIANT |
//! | `privilegedMode` true, project in `exemptedProjects` | COMPLIANT, exemption named |

use crate::common::exemptions::ExemptedProjects;
use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Rule, Severity, Verdict};

pub const ID: &str = "codebuild-project-privileged-mode-disabled";

#[derive(Debug)]
pub struct PrivilegedModeDisabled;

impl Rule for PrivilegedModeDisabled {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::High;
    const AREA: Area = Area::Infrastructure;
    const WEIGHT: u32 = 3;
    const REMEDIATION: &'static str = "Set environment.privilegedMode to false; projects that must build Docker images can be listed in exemptedProjects and isolated in a VPC.";
    const INPUTS: &'static [&'static str] = &["environment.privilegedMode"];
    const PARAMETER_INPUTS: &'static [(&'static str, &'static str)] = &[("exemptedProjects", "name")];
    type Resource = CodeBuildProject;
    type Params = ExemptedProjects;
    type Facts = ();

    fn evaluate(subject: &Subject<CodeBuildProject>, (): &(), params: &ExemptedProjects) -> Verdict {
        let name = subject.project_name();
        if !subject.resource.environment.privileged_mode {
            Verdict::compliant("privileged mode is disabled")
        } else if params.exempts(name) {
            Verdict::compliant(format!("privileged mode is enabled; project `{name}` is exempted by exemptedProjects"))
        } else {
            Verdict::non_compliant(
                "privileged mode is enabled: build commands get root access to the host's Docker daemon; \
                 disable it, or exempt the project with exemptedProjects if it must build images",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::subject;

    fn params(exempted: &[&str]) -> ExemptedProjects {
        ExemptedProjects { exempted_projects: exempted.iter().map(|name| (*name).to_owned()).collect() }
    }

    #[rstest]
    #[case::privileged_mode_disabled("compliant-unprivileged", &[], Compliance::Compliant)]
    #[case::privileged_mode_absent("compliant-no-privileged-field", &[], Compliance::Compliant)]
    #[case::privileged_mode_enabled("non-compliant-privileged", &[], Compliance::NonCompliant)]
    #[case::privileged_but_exempted("non-compliant-privileged", &["docker-image-builder"], Compliance::Compliant)]
    #[case::another_project_exempted("non-compliant-privileged", &["other"], Compliance::NonCompliant)]
    fn scenario(#[case] fixture: &str, #[case] exempted: &[&str], #[case] expected: Compliance) {
        let verdict = PrivilegedModeDisabled::evaluate(&subject(ID, fixture), &(), &params(exempted));
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[test]
    fn exemption_is_named_in_the_reason() {
        let verdict = PrivilegedModeDisabled::evaluate(
            &subject(ID, "non-compliant-privileged"),
            &(),
            &params(&["docker-image-builder"]),
        );
        assert!(verdict.reason.contains("`docker-image-builder` is exempted"), "{}", verdict.reason);
    }
}
