//! A template's text, YAML or JSON, as one JSON document with long-form intrinsic functions.

use pipesec_engine::error::without_values;
use serde_json::{Map, Number, Value};
use serde_norway::Value as Yaml;

/// A template's text as JSON with long-form intrinsic functions.
///
/// Whatever the file's extension, text that looks like JSON (it opens with `{`) is read as JSON
/// first and, when that fails (a trailing comma, a comment), as YAML, of which JSON is in
/// practice a subset, as CloudFormation does; the error then gives both reasons. Other text is
/// YAML.
pub fn parse(text: &str) -> std::result::Result<Value, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        let json = match serde_json::from_str(text) {
            Ok(document) => return Ok(document),
            Err(err) => err,
        };
        return yaml(text)
            .map_err(|yaml| format!("neither JSON ({}) nor YAML ({yaml})", without_values(&json.to_string())));
    }
    yaml(text).map_err(|err| format!("invalid YAML: {err}"))
}

fn yaml(text: &str) -> std::result::Result<Value, String> {
    let yaml: Yaml = serde_norway::from_str(text).map_err(|err| without_values(&err.to_string()))?;
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
                    // Not the key itself: it is the document's text.
                    _ => return Err("unsupported mapping key (null, a list, a mapping or a tagged value)".to_owned()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_that_does_not_parse_falls_back_to_yaml_whatever_the_file_is_called() {
        // Trailing commas, as formatters leave in flow-style YAML saved as `.template` / `.json`.
        let text = "{\n  \"Resources\": {\n    \"Build\": {\"Type\": \"AWS::CodeBuild::Project\",},\n  },\n}\n";
        assert!(serde_json::from_str::<Value>(text).is_err());
        let document = parse(text).unwrap();
        assert_eq!(document["Resources"]["Build"]["Type"], "AWS::CodeBuild::Project");
        // Short-form intrinsics inside flow-style YAML are read too.
        let document = parse("{\"Resources\": {\"B\": {\"Properties\": {\"Name\": !Ref N,},},},}").unwrap();
        assert_eq!(document["Resources"]["B"]["Properties"]["Name"], serde_json::json!({"Ref": "N"}));
        // A byte-order mark is not part of the document.
        assert_eq!(parse("\u{feff}{\"A\": 1}").unwrap()["A"], 1);
    }

    #[test]
    fn when_both_fail_the_error_gives_both_reasons() {
        let err = parse("{\"Resources\": {\"B\": [}").unwrap_err();
        assert_eq!(
            err,
            "neither JSON (expected value at line 1 column 22) nor YAML (did not find expected node content at \
             line 1 column 22, while parsing a flow node)"
        );
        assert!(parse("Resources:\n  - a\n b: [").unwrap_err().starts_with("invalid YAML: "));
    }
}
