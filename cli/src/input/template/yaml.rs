//! A template's text, YAML or JSON, as one JSON document with long-form intrinsic functions.

use serde_json::{Map, Number, Value};
use serde_norway::Value as Yaml;

/// A template's text as JSON with long-form intrinsic functions.
pub fn parse(text: &str) -> std::result::Result<Value, String> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|err| format!("invalid JSON: {err}"));
    }
    let yaml: Yaml = serde_norway::from_str(text).map_err(|err| format!("invalid YAML: {err}"))?;
    to_json(yaml)
}

fn to_json(yaml: Yaml) -> std::result::Result<Value, String> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(flag) => Value::Bool(flag),
        Yaml::Number(number) => {
            if let Some(n) = number.as_u64() {
                Value::from(n)
            } else if let Some(n) = number.as_i64() {
                Value::from(n)
            } else {
                number.as_f64().and_then(Number::from_f64).map_or(Value::Null, Value::Number)
            }
        }
        Yaml::String(text) => Value::String(text),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect::<std::result::Result<_, _>>()?),
        Yaml::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Yaml::String(text) => text,
                    Yaml::Number(number) => number.to_string(),
                    Yaml::Bool(flag) => flag.to_string(),
                    other => return Err(format!("unsupported mapping key {other:?}")),
                };
                object.insert(key, to_json(value)?);
            }
            Value::Object(object)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = to_json(tagged.value)?;
            let (key, value) = match name {
                "Ref" | "Condition" => (name.to_owned(), value),
                // `!GetAtt Resource.Attribute` (the attribute may itself hold dots).
                "GetAtt" => match value {
                    Value::String(text) => {
                        let (resource, attribute) = text.split_once('.').unwrap_or((&text, ""));
                        ("Fn::GetAtt".to_owned(), Value::from(vec![resource.to_owned(), attribute.to_owned()]))
                    }
                    other => ("Fn::GetAtt".to_owned(), other),
                },
                _ => (format!("Fn::{name}"), value),
            };
            let mut object = Map::new();
            object.insert(key, value);
            Value::Object(object)
        }
    })
}
