//! Rule parameters: typed, validated before any API call, and strict about names.
//!
//! A rule declares its parameters as a struct deriving `Deserialize` with
//! `#[serde(default, deny_unknown_fields)]`, using the helpers here for Config's conventions:
//! every value is a string, lists are comma-separated, and an empty value means "not set".

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::error::{Error, Result, kind_of_value, without_values};

/// The parameter of the removed central cross-account mode (the role to assume in the evaluated
/// account). An old deployment may still send it: empty (the old default) it is ignored like any
/// unset parameter; set, the invocation fails with an error saying why, rather than silently
/// evaluating the function's own account instead of the one the deployment meant.
pub const REMOVED_EXECUTION_ROLE_NAME: &str = "ExecutionRoleName";

/// The parameters of a rule that takes none of its own.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParameters {}

/// The rule's parameters, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameters<P> {
    pub rule: P,
}

/// Parses `ruleParameters` (absent, empty, `"{}"` or a JSON object of strings).
pub fn parse<P: DeserializeOwned>(raw: Option<&str>) -> Result<Parameters<P>> {
    let raw = raw.map_or("", str::trim);
    let mut values: Map<String, Value> = if raw.is_empty() {
        Map::new()
    } else {
        serde_json::from_str(raw).map_err(|err| {
            Error::invalid_parameter(
                "ruleParameters",
                format!("not a JSON object: {}", without_values(&err.to_string())),
            )
        })?
    };
    // Conformance packs pass "" for an optional parameter that is not set.
    values.retain(|_, value| !(value.is_null() || value.as_str().is_some_and(|text| text.trim().is_empty())));

    if values.contains_key(REMOVED_EXECUTION_ROLE_NAME) {
        return Err(Error::invalid_parameter(
            REMOVED_EXECUTION_ROLE_NAME,
            "the central cross-account mode was removed: deploy the functions in every account \
             (README, Organization-wide) and leave this parameter empty",
        ));
    }
    let rule = serde_path_to_error::deserialize(Value::Object(values)).map_err(|err| {
        let reason = err.inner().to_string();
        let name = match err.path().to_string() {
            path if path == "." => unknown_field_name(&reason).unwrap_or("ruleParameters").to_owned(),
            path => path,
        };
        Error::invalid_parameter(name, without_values(&reason))
    })?;
    Ok(Parameters { rule })
}

/// serde reports an unknown field at the root; its message names it between backticks.
fn unknown_field_name(reason: &str) -> Option<&str> {
    reason.strip_prefix("unknown field `")?.split('`').next()
}

/// The parameter names a rule's parameter struct accepts, in declaration order, read from its
/// `Deserialize` implementation so that templates and docs cannot drift from the code.
pub fn names<P: DeserializeOwned>() -> &'static [&'static str] {
    /// Answers `deserialize_struct` by reporting the field names, and fails everything else.
    struct FieldNames<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for FieldNames<'_> {
        type Error = serde::de::value::Error;

        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(Self::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(Self::Error::custom("names read"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = P::deserialize(FieldNames(&mut fields));
    fields
}

/// A whole number given as a string (or a JSON number): `"3"`, `3`, `3.0`.
pub fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    crate::lenient::flexible_u32(deserializer)
}

/// A comma-separated list (or a JSON list) of non-empty, trimmed strings.
pub fn comma_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let items = match Value::deserialize(deserializer)? {
        Value::String(text) => text.split(',').map(str::to_owned).collect(),
        Value::Array(values) => values
            .into_iter()
            .map(|value| match value {
                Value::String(text) => Ok(text),
                other => Err(D::Error::custom(format!("expected a list of strings, found {}", kind_of_value(&other)))),
            })
            .collect::<Result<Vec<_>, _>>()?,
        other => {
            return Err(D::Error::custom(format!("expected a comma-separated list, found {}", kind_of_value(&other))));
        }
    };
    Ok(items.into_iter().map(|item| item.trim().to_owned()).filter(|item| !item.is_empty()).collect())
}

/// A comma-separated list of IAM policy ARNs (`arn:<partition>:iam::<account or aws>:policy/…`).
pub fn policy_arn_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let arns = comma_list(deserializer)?;
    match arns.iter().find(|arn| !crate::iam::is_policy_arn(arn)) {
        Some(bad) => Err(D::Error::custom(format!(
            "`{bad}` is not an IAM policy ARN (arn:<partition>:iam::<account id or aws>:policy/<name>)"
        ))),
        None => Ok(arns),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Sample {
        #[serde(rename = "exemptedProjects", deserialize_with = "comma_list")]
        exempted_projects: Vec<String>,
        #[serde(rename = "limit", deserialize_with = "crate::lenient::flexible_u32")]
        limit: Option<u32>,
        #[serde(rename = "allowedPolicyArns", deserialize_with = "policy_arn_list")]
        allowed_policy_arns: Vec<String>,
    }

    fn error_of(raw: &str) -> (String, String) {
        match parse::<Sample>(Some(raw)).unwrap_err() {
            Error::InvalidParameter { name, reason } => (name, reason),
            other => panic!("expected InvalidParameter, got {other:?}"),
        }
    }

    #[test]
    fn absent_empty_and_empty_object_mean_defaults() {
        for raw in [None, Some(""), Some("  "), Some("{}"), Some(r#"{"exemptedProjects": ""}"#)] {
            let params = parse::<Sample>(raw).unwrap();
            assert_eq!(params, Parameters { rule: Sample::default() }, "{raw:?}");
        }
    }

    #[test]
    fn lists_are_comma_separated_strings() {
        let params = parse::<Sample>(Some(r#"{"exemptedProjects": " a, b ,,c", "limit": "3"}"#)).unwrap();
        assert_eq!(params.rule.exempted_projects, ["a", "b", "c"]);
        assert_eq!(params.rule.limit, Some(3));
    }

    #[test]
    fn unknown_parameter_is_named() {
        let (name, reason) = error_of(r#"{"exemptedProject": "a"}"#);
        assert_eq!(name, "exemptedProject");
        assert!(reason.contains("unknown field"), "{reason}");
    }

    #[test]
    fn bad_value_names_the_parameter() {
        let (name, reason) = error_of(r#"{"limit": "many"}"#);
        assert_eq!(name, "limit");
        assert!(reason.contains("whole number"), "{reason}");
    }

    #[test]
    fn policy_arns_are_checked() {
        let arns = "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess, arn:aws-cn:iam::123456789012:policy/ci";
        let params = parse::<Sample>(Some(&serde_json::json!({"allowedPolicyArns": arns}).to_string())).unwrap();
        assert_eq!(params.rule.allowed_policy_arns.len(), 2);
        let (name, reason) = error_of(r#"{"allowedPolicyArns": "AdministratorAccess"}"#);
        assert_eq!(name, "allowedPolicyArns");
        assert!(reason.contains("`…` is not an IAM policy ARN"), "{reason}");
        assert!(!reason.contains("AdministratorAccess"), "a parameter's value is not repeated: {reason}");
    }

    #[test]
    fn a_wrong_typed_parameter_is_named_with_its_expected_type_never_its_value() {
        const CANARY: &str = "ghp_c4n4ryV4lu3InAWrongTyp3dP4r4m000000";
        for (raw, name, expected) in [
            (json!({"limit": CANARY}), "limit", "expected a whole number, found a string"),
            (json!({"exemptedProjects": {"token": CANARY}}), "exemptedProjects", "found an object"),
            (json!({"exemptedProjects": ["a", [CANARY]]}), "exemptedProjects", "found a list"),
            (json!(CANARY), "ruleParameters", "expected a map, found a string"),
        ] {
            let (named, reason) = error_of(&raw.to_string());
            assert_eq!(named, name);
            assert!(reason.contains(expected), "{reason} should contain {expected}");
            assert!(!reason.contains("c4n4ry"), "{reason}");
        }
    }

    #[test]
    fn parameters_must_be_a_json_object() {
        assert_eq!(error_of("[1,2]").0, "ruleParameters");
        assert_eq!(error_of("{not json").0, "ruleParameters");
    }

    #[test]
    fn an_empty_execution_role_name_from_an_old_deployment_is_ignored() {
        let params = parse::<NoParameters>(Some(r#"{"ExecutionRoleName": ""}"#)).unwrap();
        assert_eq!(params, Parameters { rule: NoParameters {} });
    }

    #[test]
    fn a_set_execution_role_name_says_the_mode_was_removed() {
        let err = parse::<NoParameters>(Some(r#"{"ExecutionRoleName": "pipesec-config-rules"}"#)).unwrap_err();
        assert!(
            matches!(err, Error::InvalidParameter { ref name, ref reason }
            if name == REMOVED_EXECUTION_ROLE_NAME && reason.contains("cross-account mode was removed")),
            "{err}"
        );
    }

    #[test]
    fn names_are_read_from_the_struct() {
        assert_eq!(names::<Sample>(), ["exemptedProjects", "limit", "allowedPolicyArns"]);
        assert!(names::<NoParameters>().is_empty());
    }

    #[test]
    fn rules_without_parameters_reject_any() {
        let err = parse::<NoParameters>(Some(r#"{"threshold": "1"}"#)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid rule parameter `threshold`: unknown field `threshold`, there are no fields"
        );
    }
}
