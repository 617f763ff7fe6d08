//! Serde helpers for the quirks of real configuration items: lists that arrive as one object,
//! nulls where values are expected, numbers as floats or strings, booleans as strings.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeOwned, Error as _, Visitor};
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
    struct Flexible;
    impl<'de> Visitor<'de> for Flexible {
        type Value = bool;
        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("a boolean")
        }
        fn visit_bool<E: de::Error>(self, flag: bool) -> Result<bool, E> {
            Ok(flag)
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<bool, E> {
            Ok(text.trim().eq_ignore_ascii_case("true"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_none<E: de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
            deserializer.deserialize_any(self)
        }
    }
    deserializer.deserialize_any(Flexible)
}

/// A string, or a number or boolean written as one; null is absent.
pub fn flexible_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(flexible_str(deserializer)?.map(Cow::into_owned))
}

/// [`flexible_string`] borrowing the text from the input where it can (a JSON string without
/// escapes), so that reading it allocates nothing.
pub fn flexible_str<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct Flexible;
    impl<'de> Visitor<'de> for Flexible {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("a string")
        }
        fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(text)))
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(text.to_owned())))
        }
        fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(text)))
        }
        fn visit_u64<E: de::Error>(self, number: u64) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(number.to_string())))
        }
        fn visit_i64<E: de::Error>(self, number: i64) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(number.to_string())))
        }
        fn visit_f64<E: de::Error>(self, number: f64) -> Result<Self::Value, E> {
            // As serde_json writes it (5.0 stays "5.0").
            let text = serde_json::Number::from_f64(number).map_or_else(|| number.to_string(), |n| n.to_string());
            Ok(Some(Cow::Owned(text)))
        }
        fn visit_bool<E: de::Error>(self, flag: bool) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(flag.to_string())))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_any(self)
        }
    }
    deserializer.deserialize_any(Flexible)
}

/// A whole number given as an integer, a float with no fraction (`5.0`) or a string; null is
/// absent.
pub fn flexible_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    struct Flexible;
    impl Flexible {
        /// `found` is the kind of value (`a string`), never the value: it may be a secret.
        fn not_whole<E: de::Error>(found: &str) -> E {
            E::custom(format!("expected a whole number, found {found}"))
        }
        fn whole<E: de::Error>(number: f64, found: &str) -> Result<Option<u32>, E> {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // range and fraction checked
            if number.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&number) {
                Ok(Some(number as u32))
            } else {
                Err(Flexible::not_whole(found))
            }
        }
    }
    impl<'de> Visitor<'de> for Flexible {
        type Value = Option<u32>;
        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("a whole number")
        }
        fn visit_u64<E: de::Error>(self, number: u64) -> Result<Self::Value, E> {
            u32::try_from(number).map(Some).map_err(|_| Flexible::not_whole("a number out of range"))
        }
        fn visit_i64<E: de::Error>(self, number: i64) -> Result<Self::Value, E> {
            u32::try_from(number).map(Some).map_err(|_| Flexible::not_whole("a number out of range"))
        }
        fn visit_f64<E: de::Error>(self, number: f64) -> Result<Self::Value, E> {
            Flexible::whole(number, "a number with a fraction or out of range")
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            match text.trim().parse::<f64>() {
                Ok(number) => Flexible::whole(number, "a string holding a number with a fraction or out of range"),
                Err(_) => Err(Flexible::not_whole("a string")),
            }
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(Flexible::not_whole("a boolean"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_any(self)
        }
    }
    deserializer.deserialize_any(Flexible)
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
    fn counts_may_be_strings() {
        assert_eq!(parse(r#"{"count": " 4 "}"#).unwrap().count, Some(4));
        assert_eq!(parse(r#"{"count": "3.0"}"#).unwrap().count, Some(3));
        let err = parse(r#"{"count": "three"}"#).unwrap_err().to_string();
        assert!(err.contains("expected a whole number, found a string"), "{err}");
        assert!(!err.contains("three"), "the value is not repeated: {err}");
        assert!(parse(r#"{"count": 4294967296}"#).is_err());
    }

    #[test]
    fn fractional_or_negative_counts_are_errors() {
        assert!(parse(r#"{"count": 5.5}"#).is_err());
        assert!(parse(r#"{"count": -1}"#).is_err());
        assert!(parse(r#"{"flag": []}"#).is_err());
    }

    #[test]
    fn flexible_str_borrows_text_without_escapes() {
        let read = |json: &'static str| flexible_str(&mut serde_json::Deserializer::from_str(json)).unwrap();
        assert!(matches!(read(r#""main""#), Some(Cow::Borrowed("main"))));
        assert!(matches!(read(r#""a\"b""#), Some(Cow::Owned(text)) if text == "a\"b"));
        assert!(matches!(read("5.0"), Some(Cow::Owned(text)) if text == "5.0"));
        assert!(matches!(read("true"), Some(Cow::Owned(text)) if text == "true"));
        assert_eq!(read("null"), None);
    }
}
