//! Serde helpers for the quirks of real configuration items: lists that arrive as one object,
//! nulls where values are expected, numbers as floats or strings, booleans as strings.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A list, a single object (taken as a list of one) or null (an empty list).
pub fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let from_value = |value| T::deserialize(value).map_err(D::Error::custom);
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(Vec::new()),
        Value::Array(values) => values.into_iter().map(from_value).collect(),
        value => Ok(vec![from_value(value)?]),
    }
}

/// Null is the type's default.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `true`, `"true"` (any case) or anything else as false; null and absent are false.
pub fn flexible_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Bool(flag) => Ok(flag),
        Value::String(text) => Ok(text.trim().eq_ignore_ascii_case("true")),
        Value::Null => Ok(false),
        other => Err(D::Error::custom(format!("expected a boolean, found {other}"))),
    }
}

/// A string, or a number or boolean written as one; null is absent.
pub fn flexible_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text)),
        Value::Number(number) => Ok(Some(number.to_string())),
        Value::Bool(flag) => Ok(Some(flag.to_string())),
        other => Err(D::Error::custom(format!("expected a string, found {other}"))),
    }
}

/// A whole number given as an integer, a float with no fraction (`5.0`) or a string; null is
/// absent.
pub fn flexible_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    let number = match &value {
        Value::Null => return Ok(None),
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    match number {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // range and fraction checked
        Some(n) if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) => Ok(Some(n as u32)),
        _ => Err(D::Error::custom(format!("expected a whole number, found {value}"))),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Sample {
        #[serde(default, deserialize_with = "one_or_many")]
        list: Vec<u8>,
        #[serde(default, deserialize_with = "flexible_bool")]
        flag: bool,
        #[serde(default, deserialize_with = "flexible_u32")]
        count: Option<u32>,
        #[serde(default, deserialize_with = "flexible_string")]
        text: Option<String>,
    }

    fn parse(json: &str) -> Result<Sample, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn accepts_the_real_world_shapes() {
        let sample = parse(r#"{"list": 7, "flag": "TRUE", "count": 5.0, "text": 12}"#).unwrap();
        assert_eq!(sample.list, vec![7]);
        assert!(sample.flag);
        assert_eq!(sample.count, Some(5));
        assert_eq!(sample.text.as_deref(), Some("12"));
    }

    #[test]
    fn nulls_and_missing_keys_are_defaults() {
        let sample = parse(r#"{"list": null, "flag": null, "count": null, "text": null}"#).unwrap();
        assert_eq!(sample, parse("{}").unwrap());
        assert!(sample.list.is_empty() && !sample.flag && sample.count.is_none() && sample.text.is_none());
    }

    #[test]
    fn fractional_or_negative_counts_are_errors() {
        assert!(parse(r#"{"count": 5.5}"#).is_err());
        assert!(parse(r#"{"count": -1}"#).is_err());
        assert!(parse(r#"{"flag": []}"#).is_err());
    }
}
