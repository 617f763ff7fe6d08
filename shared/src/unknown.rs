//! Values unknown before deployment: a template's intrinsic functions that only CloudFormation
//! can compute (`!ImportValue`, `!GetAtt`, a parameter without a default, `AWS::AccountId`…).
//!
//! Where a rule declares that it can judge a configuration path holding such a value
//! ([`crate::Rule::UNKNOWN_TOLERANT`]), the template scan puts a placeholder there instead of
//! making the rule NOT_APPLICABLE. A placeholder names the intrinsic, is never a real value, and
//! keeps whatever part of the value is known: `!Sub arn:aws:kms:us-east-1:${AWS::AccountId}:alias/aws/s3`
//! becomes `arn:aws:kms:us-east-1:<unknown before deployment: !Ref AWS::AccountId>:alias/aws/s3`.
//! A rule then either decides without it (the value is only named, or only its presence counts,
//! or the known part decides) or says NOT_APPLICABLE itself, using [`is_unknown`].

const OPENING: &str = "<unknown before deployment: ";

/// The placeholder of a value described by `intrinsic` (e.g. "!Ref ArtifactBucket").
pub fn placeholder(intrinsic: &str) -> String {
    format!("{OPENING}{intrinsic}>")
}

/// Whether `text` holds a placeholder: part or all of it is unknown before deployment.
pub fn is_unknown(text: &str) -> bool {
    text.contains(OPENING)
}

/// The intrinsic a placeholder in `text` names, for a reason to quote.
pub fn intrinsic(text: &str) -> Option<&str> {
    let start = text.find(OPENING)? + OPENING.len();
    let end = text[start..].find('>')?;
    Some(&text[start..start + end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placeholder_is_recognised_and_names_its_intrinsic() {
        let text = format!("arn:aws:kms:us-east-1:{}:alias/aws/s3", placeholder("!Ref AWS::AccountId"));
        assert!(is_unknown(&text));
        assert_eq!(intrinsic(&text), Some("!Ref AWS::AccountId"));
        assert!(!is_unknown("arn:aws:kms:us-east-1:123456789012:alias/aws/s3"));
        assert_eq!(intrinsic("plain"), None);
    }
}
