//! # codebuild-report-group-export-encrypted
//!
//! A CodeBuild report group that exports its test or coverage reports to S3 must not disable
//! their encryption: reports carry test names, stack traces and fixture data.
//! Parity: AWS Config's `codebuild-report-group-encrypted-at-rest` and Security Hub CodeBuild.7.
//!
//! - **Resource**: `AWS::CodeBuild::ReportGroup`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: none
//!
//! | scenario | verdict |
//! |---|---|
//! | S3 export, encrypted | COMPLIANT |
//! | no export (`NO_EXPORT`) | COMPLIANT |
//! | S3 export with `encryptionDisabled` | NON_COMPLIANT |

use pipesec_engine::resources::CodeBuildReportGroup;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, NoParameters, Rule, Severity, Verdict};

pub const ID: &str = "codebuild-report-group-export-encrypted";

#[derive(Debug)]
pub struct ReportGroupExportEncrypted;

impl Rule for ReportGroupExportEncrypted {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Medium;
    const AREA: Area = Area::Monitoring;
    const WEIGHT: u32 = 1;
    const REMEDIATION: &'static str =
        "Set exportConfig.s3Destination.encryptionDisabled to false, preferably with a customer managed KMS key.";
    const INPUTS: &'static [&'static str] = &["exportConfig"];
    type Resource = CodeBuildReportGroup;
    type Params = NoParameters;
    type Facts = ();

    fn evaluate(subject: &Subject<CodeBuildReportGroup>, (): &(), _: &NoParameters) -> Verdict {
        let export = &subject.resource.export_config;
        let to_s3 = export.export_config_type.as_deref().is_some_and(|kind| kind.eq_ignore_ascii_case("S3"));
        match export.s3_destination.as_ref().filter(|_| to_s3) {
            None => Verdict::compliant("reports are not exported"),
            Some(destination) if destination.encryption_disabled => Verdict::non_compliant(format!(
                "reports are exported to S3 bucket `{}` with encryption disabled",
                destination.bucket.as_deref().unwrap_or("?")
            )),
            Some(_) => Verdict::compliant("reports are exported to S3 encrypted"),
        }
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use pipesec_engine::resources::CodeBuildReportGroup;
    use rstest::rstest;

    use super::*;
    use crate::testing::subject;

    #[rstest]
    #[case::encrypted_export("compliant-encrypted", Compliance::Compliant)]
    #[case::no_export("compliant-no-export", Compliance::Compliant)]
    #[case::unencrypted_export("non-compliant-unencrypted", Compliance::NonCompliant)]
    fn scenario(#[case] fixture: &str, #[case] expected: Compliance) {
        let verdict =
            ReportGroupExportEncrypted::evaluate(&subject::<CodeBuildReportGroup>(ID, fixture), &(), &NoParameters {});
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }
}
