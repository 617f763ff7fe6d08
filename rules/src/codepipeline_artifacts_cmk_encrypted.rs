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

use pipesec_engine::params::comma_list;
use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Rule, Severity, Verdict};
use serde::Deserialize;

pub const ID: &str = "codepipeline-artifacts-cmk-encrypted";

#[derive(Debug)]
pub struct ArtifactsCmkEncrypted;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    #[serde(rename = "allowedKeyArns", deserialize_with = "comma_list")]
    pub allowed_key_arns: Vec<String>,
}

impl Rule for ArtifactsCmkEncrypted {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Medium;
    const AREA: Area = Area::PipelineIntegrity;
    const WEIGHT: u32 = 2;
    const REMEDIATION: &'static str =
        "Set encryptionKey (type KMS, a customer managed key) on the pipeline's artifact store in every region.";
    const INPUTS: &'static [&'static str] = &["pipeline.artifactStore", "pipeline.artifactStores"];
    type Resource = PipelineConfiguration;
    type Params = Params;
    type Facts = ();

    fn evaluate(subject: &Subject<PipelineConfiguration>, (): &(), params: &Params) -> Verdict {
        let pipeline = &subject.resource.pipeline;
        if pipeline.artifact_stores().next().is_none() {
            return Verdict::not_applicable("the pipeline declares no artifact store");
        }
        let findings: Vec<String> = pipeline
            .artifact_stores()
            .filter_map(|(region, store)| {
                let name = match region {
                    None => format!("artifact store `{}`", store.location.as_deref().unwrap_or("?")),
                    Some(region) => format!("artifact store in {region}"),
                };
                let key = store.encryption_key.as_ref().and_then(|key| key.id.as_deref()).filter(|id| !id.is_empty());
                match key {
                    None => Some(format!("{name} uses the AWS managed key")),
                    Some(key) if key == "alias/aws/s3" || key.ends_with(":alias/aws/s3") => {
                        Some(format!("{name} uses the AWS managed key alias/aws/s3"))
                    }
                    Some(key)
                        if !params.allowed_key_arns.is_empty() && !params.allowed_key_arns.iter().any(|k| k == key) =>
                    {
                        Some(format!("{name} uses KMS key `{key}`, which is not in allowedKeyArns"))
                    }
                    Some(_) => None,
                }
            })
            .collect();
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
        let params = Params { allowed_key_arns: list(allowed) };
        let verdict = ArtifactsCmkEncrypted::evaluate(&subject(ID, fixture), &(), &params);
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[test]
    fn cross_region_store_is_named_by_region() {
        let verdict =
            ArtifactsCmkEncrypted::evaluate(&subject(ID, "non-compliant-cross-region"), &(), &Params::default());
        assert!(verdict.reason.contains("artifact store in eu-west-1"), "{}", verdict.reason);
    }
}
