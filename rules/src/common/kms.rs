//! KMS keys as the encryption rules judge them.

use pipesec_engine::params::comma_list;
use serde::Deserialize;

/// `allowedKeyArns`: the only customer managed keys allowed, when set.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AllowedKeyArns {
    #[serde(rename = "allowedKeyArns", deserialize_with = "comma_list")]
    pub allowed_key_arns: Vec<String>,
}

impl AllowedKeyArns {
    /// Whether `key` may be used: no list, or on it.
    pub fn allows(&self, key: &str) -> bool {
        self.allowed_key_arns.is_empty() || self.allowed_key_arns.iter().any(|allowed| allowed == key)
    }
}

/// The AWS managed key's alias (`alias/aws/s3`, `alias/aws/codeartifact`…) when `key` names
/// one, as an alias or an alias ARN: AWS owns the policy of such a key in every account, so no
/// read is needed to know it is not customer managed. Any known text before the alias (an
/// account that is unknown before deployment, say) does not change that.
pub fn aws_managed_alias(key: &str) -> Option<&str> {
    let start = key.rfind("alias/aws/")?;
    let at_boundary = start == 0 || key[..start].ends_with(':');
    let alias = &key[start..];
    let service = &alias["alias/aws/".len()..];
    let service_like =
        !service.is_empty() && service.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    (at_boundary && service_like).then_some(alias)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::bare_alias("alias/aws/s3", Some("alias/aws/s3"))]
    #[case::alias_arn("arn:aws:kms:us-east-1:123456789012:alias/aws/s3", Some("alias/aws/s3"))]
    #[case::other_service(
        "arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/aws/codeartifact",
        Some("alias/aws/codeartifact")
    )]
    #[case::account_unknown(
        "arn:aws:kms:us-east-1:<unknown before deployment: ${AWS::AccountId}>:alias/aws/s3",
        Some("alias/aws/s3")
    )]
    #[case::customer_alias("alias/team/aws/s3", None)]
    #[case::customer_alias_arn("arn:aws:kms:us-east-1:123456789012:alias/build-artifacts", None)]
    #[case::key_arn("arn:aws:kms:us-east-1:123456789012:key/0f5c4a7e-2b9d-4c61-8e3a-7d1b9f2c6a40", None)]
    #[case::empty_service("alias/aws/", None)]
    fn aws_managed_keys_are_known_by_their_alias(#[case] key: &str, #[case] expected: Option<&str>) {
        assert_eq!(aws_managed_alias(key), expected);
    }
}
