//! Parameter types more than one rule takes, each meaning the same in all of them.

use std::net::IpAddr;

use ipnet::IpNet;
use pipesec_engine::params::{comma_list, policy_arn_list};
use regex::Regex;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use crate::common::business_hours::BusinessHours;

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

/// A regular expression parameter (Rust `regex` syntax); an invalid one is a parameter error
/// naming the problem. Unicode property classes (`\p{Greek}`) are not compiled in (package size,
/// bench/README.md) and are refused the same way; `\d`, `\w` and `(?i)` work.
pub fn regex_param<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Regex>, D::Error> {
    let text = String::deserialize(deserializer)?;
    Regex::new(&text).map(Some).map_err(|err| {
        // The regex crate's message shows the pattern (a configuration value); its last line
        // (`error: unclosed group`) says what is wrong without it.
        let reason = err.to_string();
        let problem = reason.lines().rev().find_map(|line| line.strip_prefix("error: ")).unwrap_or("syntax error");
        serde::de::Error::custom(format!("not a valid regular expression: {problem}"))
    })
}

/// `allowedCidrs`: comma-separated CIDR blocks or addresses, IPv4 or IPv6.
pub fn cidr_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    comma_list(deserializer)?
        .iter()
        .map(|text| {
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| D::Error::custom(format!("`{text}` is not a CIDR block or IP address")))
        })
        .collect()
}

/// `allowedPrincipals`: comma-separated IAM ARNs, `*` as a wildcard.
pub fn principal_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let principals = comma_list(deserializer)?;
    match principals.iter().find(|principal| !principal.starts_with("arn:")) {
        Some(bad) => Err(D::Error::custom(format!("`{bad}` is not an ARN (arn:…, `*` allowed)"))),
        None => Ok(principals),
    }
}

/// `businessHours` ([`BusinessHours`]'s format).
pub fn business_hours<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<BusinessHours>, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map(Some).map_err(D::Error::custom)
}

/// A whole number parameter within `range`, e.g. `windowHours`.
pub fn bounded<'de, D: Deserializer<'de>>(
    deserializer: D,
    range: std::ops::RangeInclusive<u32>,
    unit: &str,
) -> Result<Option<u32>, D::Error> {
    match pipesec_engine::params::whole_number(deserializer)? {
        Some(value) if !range.contains(&value) => {
            Err(D::Error::custom(format!("expected {} to {} {unit}", range.start(), range.end())))
        }
        value => Ok(value),
    }
}

/// A decimal parameter within `range` (`0.3`, as a string or a number).
pub fn bounded_decimal<'de, D: Deserializer<'de>>(
    deserializer: D,
    range: std::ops::RangeInclusive<f64>,
    example: &str,
) -> Result<Option<f64>, D::Error> {
    let value = match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(text) => text.trim().parse::<f64>().ok(),
        serde_json::Value::Number(number) => number.as_f64(),
        _ => None,
    };
    match value {
        Some(value) if range.contains(&value) => Ok(Some(value)),
        _ => Err(D::Error::custom(format!(
            "expected a number from {} to {}, e.g. {example}",
            range.start(),
            range.end()
        ))),
    }
}
