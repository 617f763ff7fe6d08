//! # codebuild-project-s3-logs-encrypted
//!
//! A CodeBuild project that writes its build logs to S3 must not disable their encryption:
//! logs carry source paths, dependency names, and whatever a build step prints.
//! Parity: AWS Config's `codebuild-project-s3-logs-encrypted` (same parameter).
//!
//! - **Resource**: `AWS::CodeBuild::Project`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: `exemptedProjects` (optional): comma-separated project names not checked.
//!
//! | scenario | verdict |
//! |---|---|
//! | S3 logs enabled and encrypted | COMPLIANT |
//! | S3 logs not enabled | COMPLIANT |
//! | S3 logs enabled with `encryptionDisabled` | NON_COMPLIANT |
//! | the same, project in `exemptedProjects` | COMPLIANT, exemption named |

use crate::common::exemptions::ExemptedProjects;
use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Rule, Severity, Verdict};

pub const ID: &str = "codebuild-project-s3-logs-encrypted";

#[derive(Debug)]
pub struct S3LogsEncrypted;

impl Rule for S3LogsEncrypted {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Medium;
    const AREA: Area = Area::Monitoring;
    const WEIGHT: u32 = 2;
    const REMEDIATION: &'static str = "Set logsConfig.s3Logs.encryptionDisabled to false.";
    const INPUTS: &'static [&'static str] = &["logsConfig.s3Logs"];
    const PARAMETER_INPUTS: &'static [(&'static str, &'static str)] = &[("exemptedProjects", "name")];
    type Resource = CodeBuildProject;
    type Params = ExemptedProjects;
    type Facts = ();

    fn evaluate(subject: &Subject<CodeBuildProject>, (): &(), params: &ExemptedProjects) -> Verdict {
        let name = subject.project_name();
        let s3 = subject.resource.logs_config.s3_logs.as_ref();
        let enabled =
            s3.and_then(|s3| s3.status.as_deref()).is_some_and(|status| status.eq_ignore_ascii_case("ENABLED"));
        if !enabled {
            Verdict::compliant("S3 logs are not enabled")
        } else if !s3.is_some_and(|s3| s3.encryption_disabled) {
            Verdict::compliant("S3 logs are encrypted")
        } else if params.exempts(name) {
            Verdict::compliant(format!("S3 logs are not encrypted; project `{name}` is exempted by exemptedProjects"))
        } else {
            Verdict::non_compliant(
                "S3 logs are written with encryption disabled (logsConfig.s3Logs.encryptionDisabled)",
            )
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
    #[case::s3_logs_encrypted("compliant-encrypted", &[], Compliance::Compliant)]
    #[case::s3_logs_not_enabled("compliant-s3-logs-disabled", &[], Compliance::Compliant)]
    #[case::encryption_disabled("non-compliant-unencrypted", &[], Compliance::NonCompliant)]
    #[case::exempted("non-compliant-unencrypted", &["audit-exports"], Compliance::Compliant)]
    fn scenario(#[case] fixture: &str, #[case] exempted: &[&str], #[case] expected: Compliance) {
        let verdict = S3LogsEncrypted::evaluate(
            &subject(ID, fixture),
            &(),
            &ExemptedProjects { exempted_projects: list(exempted) },
        );
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }
}
