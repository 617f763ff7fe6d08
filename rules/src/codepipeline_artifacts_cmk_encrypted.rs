//! # codepipeline-artifacts-cmk-encrypted
//!
//! Every artifact store of a pipeline — the single `artifactStore`, or one per region in
//! `artifactStores` for cross-region actions — must encrypt with a customer managed KMS key.
//! Without one, CodePipeline uses the AWS managed key `alias/aws/s3`, whose policy you cannot
//! restrict: anyone with S3 read on the bucket can read every source and build artifact.
//!
//! - **Resource**: `AWS::CodePipeline::Pipeline`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: `allowedKeyArns` (optional): comma-separated KMS key (or alias) ARNs the
//!   stores may use; when set, any other key is NON_COMPLIANT.
//!
//! | scenario | verdict |
//! |---|---|
//! | every store has a customer managed KMS key | COMPLIANT |
//! | a store without `encryptionKey` (the AWS managed default) | NON_COMPLIANT, naming the store |
//! | a store with `alias/aws/s3` | NON_COMPLIANT |
//! | a cross-region store without a key | NON_COMPLIANT, naming its region |
//! | a key not in `allowedKeyArns` | NON_COMPLIANT |

use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Rule, Severity, Verdict, unknown};

use crate::common::kms::{AllowedKeyArns, aws_managed_alias};

pub const ID: &str = "codepipeline-artifacts-cmk-encrypted";

#[derive(Debug)]
pub struct ArtifactsCmkEncrypted;

impl Rule for ArtifactsCmkEncrypted {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Medium;
    const AREA: Area = Area::PipelineIntegrity;
    const WEIGHT: u32 = 2;
    const REMEDIATION: &'static str =
        "Set encryptionKey (type KMS, a customer managed key) on the pipeline's artifact store in every region.";
    const INPUTS: &'static [&'static str] = &["pipeline.artifactStore", "pipeline.artifactStores"];
    // The bucket is only named; an AWS managed alias is known whatever else of the key is
    // unknown, and anything else unknown is NOT_APPLICABLE, said by `evaluate`.
    const UNKNOWN_TOLERANT: &'static [&'static str] = &[
        "pipeline.artifactStore.location",
        "pipeline.artifactStore.encryptionKey.id",
        "pipeline.artifactStores.*.location",
        "pipeline.artifactStores.*.encryptionKey.id",
    ];
    type Resource = PipelineConfiguration;
    type Params = AllowedKeyArns;
    type Facts = ();

    fn evaluate(subject: &Subject<PipelineConfiguration>, (): &(), params: &AllowedKeyArns) -> Verdict {
        let pipeline = &subject.resource.pipeline;
        if pipeline.artifact_stores().next().is_none() {
            return Verdict::not_applicable("the pipeline declares no artifact store");
        }
        let (mut findings, mut unknown_keys) = (Vec::new(), Vec::new());
        for (region, store) in pipeline.artifact_stores() {
            let name = match region {
                None => format!("artifact store `{}`", store.location.as_deref().unwrap_or("?")),
                Some(region) => format!("artifact store in {region}"),
            };
            let key = store.encryption_key.as_ref().and_then(|key| key.id.as_deref()).filter(|id| !id.is_empty());
            match key {
                None => findings.push(format!("{name} uses the AWS managed key")),
                Some(key) if let Some(alias) = aws_managed_alias(key) => {
                    findings.push(format!("{name} uses the AWS managed key {alias}"));
                }
                Some(key) if unknown::is_unknown(key) => {
                    unknown_keys.push(format!("`{}`", unknown::intrinsic(key).unwrap_or_default()));
                }
                Some(key) if !params.allows(key) => {
                    findings.push(format!("{name} uses KMS key `{key}`, which is not in allowedKeyArns"));
                }
                Some(_) => {}
            }
        }
        // A finding stands whatever the unknown keys are; without one, they decide.
        if findings.is_empty() && !unknown_keys.is_empty() {
            return Verdict::not_applicable(format!(
                "the artifact store's encryption key is unknown before deployment: {}",
                unknown_keys.join(", ")
            ));
        }
        Verdict::from_findings(&findings, "every artifact store uses a customer managed KMS key")
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::{list, subject};

    #[rstest]
    #[case::customer_managed_key("compliant-cmk", &[], Compliance::Compliant)]
    #[case::no_key("non-compliant-default-key", &[], Compliance::NonCompliant)]
    #[case::aws_managed_alias("non-compliant-aws-managed", &[], Compliance::NonCompliant)]
    #[case::cross_region_store_without_key("non-compliant-cross-region", &[], Compliance::NonCompliant)]
    #[case::key_not_allowed("compliant-cmk", &["arn:aws:kms:us-east-1:123456789012:key/other"], Compliance::NonCompliant)]
    fn scenario(#[case] fixture: &str, #[case] allowed: &[&str], #[case] expected: Compliance) {
        let params = AllowedKeyArns { allowed_key_arns: list(allowed) };
        let verdict = ArtifactsCmkEncrypted::evaluate(&subject(ID, fixture), &(), &params);
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[test]
    fn cross_region_store_is_named_by_region() {
        let verdict = ArtifactsCmkEncrypted::evaluate(
            &subject(ID, "non-compliant-cross-region"),
            &(),
            &AllowedKeyArns::default(),
        );
        assert!(verdict.reason.contains("artifact store in eu-west-1"), "{}", verdict.reason);
    }
}
