//! # codebuild-project-artifacts-encrypted
//!
//! No artifact of a CodeBuild project, primary or secondary, may disable encryption: artifacts
//! are what later stages deploy, and may carry configuration and credentials files.
//! Parity: AWS Config's `codebuild-project-artifact-encryption` (NON_COMPLIANT when
//! `encryptionDisabled` is true for any primary or secondary artifact).
//!
//! - **Resource**: `AWS::CodeBuild::Project`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: none
//!
//! | scenario | verdict |
//! |---|---|
//! | every artifact encrypted (or no artifacts) | COMPLIANT |
//! | the primary artifact has `encryptionDisabled` | NON_COMPLIANT |
//! | a secondary artifact has `encryptionDisabled` | NON_COMPLIANT, named by its identifier |

use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, NoParameters, Rule, Severity, Verdict};

pub const ID: &str = "codebuild-project-artifacts-encrypted";

#[derive(Debug)]
pub struct ArtifactsEncrypted;

impl Rule for ArtifactsEncrypted {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Medium;
    const AREA: Area = Area::PipelineIntegrity;
    const WEIGHT: u32 = 3;
    const REMEDIATION: &'static str = "Set encryptionDisabled to false on every primary and secondary artifact.";
    const INPUTS: &'static [&'static str] = &[
        "artifacts.encryptionDisabled",
        "secondaryArtifacts.encryptionDisabled",
        "secondaryArtifacts.artifactIdentifier",
    ];
    // An artifact's identifier is only named.
    const UNKNOWN_TOLERANT: &'static [&'static str] = &["secondaryArtifacts.artifactIdentifier"];
    type Resource = CodeBuildProject;
    type Params = NoParameters;
    type Facts = ();

    fn evaluate(subject: &Subject<CodeBuildProject>, (): &(), _: &NoParameters) -> Verdict {
        let project = &subject.resource;
        let primary =
            project.artifacts.iter().filter(|a| a.encryption_disabled).map(|_| "the primary artifact".to_owned());
        let secondary = project.secondary_artifacts.iter().filter(|a| a.encryption_disabled).map(|artifact| {
            format!("secondary artifact `{}`", artifact.artifact_identifier.as_deref().unwrap_or("(unnamed)"))
        });
        let unencrypted: Vec<String> = primary.chain(secondary).collect();
        if unencrypted.is_empty() {
            Verdict::compliant("every artifact is encrypted")
        } else {
            Verdict::non_compliant(format!("encryption is disabled for {}", unencrypted.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::subject;

    #[rstest]
    #[case::all_encrypted("compliant-encrypted", Compliance::Compliant)]
    #[case::no_artifacts("compliant-no-artifacts", Compliance::Compliant)]
    #[case::primary_unencrypted("non-compliant-primary", Compliance::NonCompliant)]
    #[case::secondary_unencrypted("non-compliant-secondary", Compliance::NonCompliant)]
    fn scenario(#[case] fixture: &str, #[case] expected: Compliance) {
        let verdict = ArtifactsEncrypted::evaluate(&subject(ID, fixture), &(), &NoParameters {});
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[test]
    fn secondary_artifact_is_named() {
        let verdict = ArtifactsEncrypted::evaluate(&subject(ID, "non-compliant-secondary"), &(), &NoParameters {});
        assert!(verdict.reason.contains("secondary artifact `reports`"), "{}", verdict.reason);
    }
}
