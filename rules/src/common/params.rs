//! Parameter types more than one rule takes, each meaning the same in all of them.

use pipesec_engine::params::{comma_list, policy_arn_list};
use regex::Regex;
use serde::{Deserialize, Deserializer};

/// `allowedVariableNames`: variable names that hold no secret whatever their value.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AllowedVariableNames {
    #[serde(rename = "allowedVariableNames", deserialize_with = "comma_list")]
    pub allowed_variable_names: Vec<String>,
}

/// `allowedPolicyArns`: policies a role may hold however broad they are.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AllowedPolicyArns {
    #[serde(rename = "allowedPolicyArns", deserialize_with = "policy_arn_list")]
    pub allowed_policy_arns: Vec<String>,
}

/// A regular expression parameter; an invalid one is a parameter error naming the problem.
pub fn regex_param<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Regex>, D::Error> {
    let text = String::deserialize(deserializer)?;
    Regex::new(&text)
        .map(Some)
        .map_err(|err| serde::de::Error::custom(format!("not a valid regular expression: {err}")))
}
