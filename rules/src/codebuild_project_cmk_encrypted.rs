//! # codebuild-project-cmk-encrypted
//!
//! A CodeBuild project must encrypt its artifacts with a customer managed KMS key, not the AWS
//! managed `alias/aws/s3`: only a customer managed key's policy controls who can decrypt the
//! build output, and its use is logged against a key you own.
//!
//! - **Resource**: `AWS::CodeBuild::Project`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: `allowedKeyArns` (optional): comma-separated KMS key (or alias) ARNs the
//!   project may use; when set, any other key is NON_COMPLIANT.
//!
//! | scenario | verdict |
//! |---|---|
//! | a customer managed key | COMPLIANT |
//! | no `encryptionKey` (the default, `alias/aws/s3`) | NON_COMPLIANT |
//! | `alias/aws/s3`, by alias or by ARN | NON_COMPLIANT |
//! | a key not in `allowedKeyArns` | NON_COMPLIANT |
//! | a key in `allowedKeyArns` | COMPLIANT |

use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Rule, Severity, Verdict, unknown};

use crate::common::kms::{AllowedKeyArns, aws_managed_alias};

pub const ID: &str = "codebuild-project-cmk-encrypted";

const AWS_MANAGED_S3_KEY: &str = "alias/aws/s3";

#[derive(Debug)]
pub struct CmkEncrypted;

impl Rule for CmkEncrypted {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Low;
    const AREA: Area = Area::PipelineIntegrity;
    const WEIGHT: u32 = 1;
    const REMEDIATION: &'static str = "Set the project's encryptionKey to a customer managed KMS key whose policy limits who can decrypt build output.";
    const INPUTS: &'static [&'static str] = &["encryptionKey"];
    // An AWS managed alias is known whatever else of the key is unknown; anything else unknown
    // is NOT_APPLICABLE, said by `evaluate`.
    const UNKNOWN_TOLERANT: &'static [&'static str] = &["encryptionKey"];
    type Resource = CodeBuildProject;
    type Params = AllowedKeyArns;
    type Facts = ();

    fn evaluate(subject: &Subject<CodeBuildProject>, (): &(), params: &AllowedKeyArns) -> Verdict {
        let key = subject.resource.encryption_key.as_deref().map(str::trim).filter(|key| !key.is_empty());
        match key {
            None => Verdict::non_compliant(format!(
                "no encryptionKey: artifacts use the AWS managed key {AWS_MANAGED_S3_KEY}; set a customer managed KMS key"
            )),
            Some(key) if let Some(alias) = aws_managed_alias(key) => Verdict::non_compliant(format!(
                "artifacts use the AWS managed key {alias}; set a customer managed KMS key"
            )),
            Some(key) if unknown::is_unknown(key) => Verdict::not_applicable(format!(
                "encryptionKey is unknown before deployment: `{}`",
                unknown::intrinsic(key).unwrap_or_default()
            )),
            Some(key) if !params.allows(key) => {
                Verdict::non_compliant(format!("artifacts use KMS key `{key}`, which is not in allowedKeyArns"))
            }
            Some(key) => Verdict::compliant(format!("artifacts use the customer managed KMS key `{key}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::{list, subject};

    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/0f5c4a7e-2b9d-4c61-8e3a-7d1b9f2c6a40";

    #[rstest]
    #[case::customer_managed_key("compliant-cmk", &[], Compliance::Compliant)]
    #[case::no_key("non-compliant-no-key", &[], Compliance::NonCompliant)]
    #[case::aws_managed_key_arn("non-compliant-aws-managed", &[], Compliance::NonCompliant)]
    #[case::aws_managed_key_alias("non-compliant-aws-managed-alias", &[], Compliance::NonCompliant)]
    #[case::key_not_allowed("compliant-cmk", &["arn:aws:kms:us-east-1:123456789012:key/other"], Compliance::NonCompliant)]
    #[case::key_allowed("compliant-cmk", &[KEY], Compliance::Compliant)]
    fn scenario(#[case] fixture: &str, #[case] allowed: &[&str], #[case] expected: Compliance) {
        let verdict =
            CmkEncrypted::evaluate(&subject(ID, fixture), &(), &AllowedKeyArns { allowed_key_arns: list(allowed) });
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }
}
