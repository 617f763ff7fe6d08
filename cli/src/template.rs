//! Reading CloudFormation templates: YAML (short-form intrinsics such as `!Ref`, `!Sub`,
//! `!GetAtt`, `!If` turned into their long form) or JSON, mapped onto configuration items by
//! [`pipesec_shared::cfn`].

use std::collections::HashMap;
use std::path::Path;

use pipesec_shared::cfn::{self, Context};
use serde_json::{Map, Number, Value};
use serde_norway::Value as Yaml;

use crate::error::{CliError, Result};
use crate::evaluate::{Entry, Origin};

/// The resources of one template file, as entries to evaluate.
pub fn load(path: &Path, context: &Context) -> Result<Vec<Entry>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|err| CliError::input(&file, err))?;
    let document = parse(&text).map_err(|reason| CliError::input(&file, reason))?;
    let mapped = cfn::map_template(&document, context).map_err(|err| CliError::input(&file, err))?;
    let mut blocks = blocks(&text);
    let account = context.parameters.get("AWS::AccountId").map(String::as_str);
    let region = context.parameters.get("AWS::Region").map(String::as_str);
    Ok(mapped
        .into_iter()
        .map(|mapped| Entry {
            item: mapped.item(account, region),
            origin: Origin::Template { file: file.clone(), block: blocks.remove(&mapped.logical_id), mapped },
        })
        .collect())
}

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

/// The lines of one resource in its template's text, so findings can point at a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// 0-based line of the resource's logical id.
    first_line: usize,
    /// The logical id's line and the resource's lines below it.
    lines: Vec<String>,
}

impl Block {
    /// The 1-based line of `property` (`Properties.Environment.PrivilegedMode`), or of the
    /// deepest part of it found.
    pub fn line_of(&self, property: &str) -> usize {
        let mut found = 0;
        for segment in property.split('.') {
            let key = segment.split('[').next().unwrap_or_default();
            match self.lines[found + 1..].iter().position(|line| is_key(line, key)) {
                Some(offset) => found += 1 + offset,
                None => break,
            }
        }
        self.first_line + found + 1
    }
}

/// The block of every resource under `Resources`, by logical id, read in one pass: a resource
/// starts at a key indented like the first one and ends where the indentation comes back to it.
pub fn blocks(text: &str) -> HashMap<String, Block> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |line: &str| line.len() - line.trim_start().len();
    let significant = |line: &str| !line.trim().is_empty() && !line.trim_start().starts_with('#');
    let Some(resources) = lines.iter().position(|line| is_key(line, "Resources")) else {
        return HashMap::new();
    };
    let Some(level) = lines[resources + 1..].iter().find(|line| significant(line)).map(|line| indent(line)) else {
        return HashMap::new();
    };
    if level <= indent(lines[resources]) {
        return HashMap::new();
    }
    let mut blocks = HashMap::new();
    let mut start = resources + 1;
    while start < lines.len() {
        let line = lines[start];
        if significant(line) && indent(line) < level {
            break;
        }
        let Some(logical_id) = key_name(line).filter(|_| indent(line) == level) else {
            start += 1;
            continue;
        };
        let end = lines[start + 1..]
            .iter()
            .position(|line| significant(line) && indent(line) <= level)
            .map_or(lines.len(), |offset| start + 1 + offset);
        let block =
            Block { first_line: start, lines: lines[start..end].iter().map(|line| (*line).to_owned()).collect() };
        blocks.insert(logical_id.to_owned(), block);
        start = end;
    }
    blocks
}

/// The 1-based line of `property` of resource `logical_id` in a template's text (see
/// [`Block::line_of`]); `None` when the resource is not found. Reads the whole text: for many
/// lookups in one template, use [`blocks`] once.
pub fn line_of(text: &str, logical_id: &str, property: &str) -> Option<usize> {
    blocks(text).get(logical_id).map(|block| block.line_of(property))
}

/// Whether a YAML or JSON line starts with key `key` (in a list item or not).
fn is_key(line: &str, key: &str) -> bool {
    key_name(line) == Some(key)
}

/// The key a YAML (`Key:`) or JSON (`"Key":`) line starts with.
fn key_name(line: &str) -> Option<&str> {
    let trimmed = line.trim_start().trim_start_matches("- ");
    if let Some(quoted) = trimmed.strip_prefix('"') {
        let (key, rest) = quoted.split_once('"')?;
        return rest.trim_start().starts_with(':').then_some(key);
    }
    let (key, _) = trimmed.split_once(':')?;
    (!key.is_empty() && !key.contains(char::is_whitespace)).then_some(key)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn short_form_tags_become_long_form_intrinsics() {
        let yaml = "\
Resources:
  P:
    Type: AWS::CodeBuild::Project
    Properties:
      Name: !Ref Name
      ServiceRole: !GetAtt Role.Arn
      Key: !GetAtt [Key, Arn]
      Desc: !Sub '${AWS::StackName}-build'
      Vpc: !If [HasVpc, !Ref Vpc, !Ref 'AWS::NoValue']
      Eq: !Equals [!Ref Stage, prod]
      Joined: !Join ['', [a, !Ref B]]
      Imported: !ImportValue shared-subnet
      Cond: !Condition IsProd
      Flag: true
      Count: 5
";
        let value = parse(yaml).unwrap();
        let properties = &value["Resources"]["P"]["Properties"];
        assert_eq!(properties["Name"], json!({"Ref": "Name"}));
        assert_eq!(properties["ServiceRole"], json!({"Fn::GetAtt": ["Role", "Arn"]}));
        assert_eq!(properties["Key"], json!({"Fn::GetAtt": ["Key", "Arn"]}));
        assert_eq!(properties["Desc"], json!({"Fn::Sub": "${AWS::StackName}-build"}));
        assert_eq!(properties["Vpc"], json!({"Fn::If": ["HasVpc", {"Ref": "Vpc"}, {"Ref": "AWS::NoValue"}]}));
        assert_eq!(properties["Eq"], json!({"Fn::Equals": [{"Ref": "Stage"}, "prod"]}));
        assert_eq!(properties["Joined"], json!({"Fn::Join": ["", ["a", {"Ref": "B"}]]}));
        assert_eq!(properties["Imported"], json!({"Fn::ImportValue": "shared-subnet"}));
        assert_eq!(properties["Cond"], json!({"Condition": "IsProd"}));
        assert_eq!((properties["Flag"].clone(), properties["Count"].clone()), (json!(true), json!(5)));
    }

    #[test]
    fn json_templates_are_read_as_they_are() {
        let value = parse(r#"{"Resources": {"P": {"Type": "AWS::CodeBuild::Project"}}}"#).unwrap();
        assert_eq!(value["Resources"]["P"]["Type"], "AWS::CodeBuild::Project");
    }

    #[test]
    fn invalid_documents_say_what_is_wrong() {
        assert!(parse("{\"Resources\": ").unwrap_err().starts_with("invalid JSON"));
        assert!(parse("Resources:\n  - a\n b: [").unwrap_err().starts_with("invalid YAML"));
    }

    #[test]
    fn lines_point_at_the_resource_property() {
        let yaml = "Parameters:\n  Builder:\n    Type: String\nResources:\n  # the build\n  Builder:\n    Type: AWS::CodeBuild::Project\n    Properties:\n      Environment:\n        Type: LINUX_CONTAINER\n        PrivilegedMode: true\nOutputs:\n  Name:\n    Value: x\n";
        assert_eq!(line_of(yaml, "Builder", "Properties.Environment.PrivilegedMode"), Some(11));
        assert_eq!(line_of(yaml, "Builder", "Properties.VpcConfig"), Some(8), "the deepest part found");
        assert_eq!(line_of(yaml, "Missing", "Properties"), None);
        assert_eq!(line_of(yaml, "Name", "Value"), None, "only resources");
        let two = "Resources:\n  A:\n    Properties:\n      Name: a\n  B:\n    Properties:\n      EncryptionKey: k\n";
        assert_eq!(line_of(two, "A", "Properties.EncryptionKey"), Some(3), "never a line of another resource");
        assert_eq!(line_of(two, "B", "Properties.EncryptionKey"), Some(7));
        let json = "{\n  \"Resources\": {\n    \"A\": {\n      \"Properties\": {\"Name\": \"a\"}\n    }\n  }\n}\n";
        assert_eq!(line_of(json, "A", "Properties"), Some(4));
    }
}

#[cfg(test)]
mod self_assessment {
    //! The pack's own IAM policies pass the pack's own least-privilege analysis.

    use std::path::Path;

    use pipesec_shared::iam::PolicyDocument;
    use serde_json::Value;

    /// The policy as IAM would see it: `Fn::Sub` / `Ref` / `Fn::Join` replaced by their text
    /// (ARN patterns keep their `${…}` placeholders, which never widen a resource to `*`).
    fn plain(value: &Value) -> Value {
        match value {
            Value::Object(map) if map.len() == 1 => match map.iter().next() {
                Some((key, Value::String(text))) if key == "Fn::Sub" || key == "Ref" => Value::String(text.clone()),
                Some((key, Value::Array(parts))) if key == "Fn::Sub" => plain(&parts[0]),
                // A conditional statement is judged as present: the wider of the two cases.
                Some((key, Value::Array(parts))) if key == "Fn::If" && parts.len() == 3 => plain(&parts[1]),
                // A resource's attribute (an ARN): never `*`.
                Some((key, Value::Array(parts))) if key == "Fn::GetAtt" => {
                    Value::String(parts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("."))
                }
                Some((key, Value::Array(parts))) if key == "Fn::Join" => {
                    let items = parts.get(1).and_then(Value::as_array).cloned().unwrap_or_default();
                    Value::String(items.iter().map(|item| plain(item).as_str().unwrap_or("x").to_owned()).collect())
                }
                _ => Value::Object(map.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
            },
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
            Value::Array(items) => Value::Array(items.iter().map(plain).collect()),
            other => other.clone(),
        }
    }

    #[test]
    fn the_packs_roles_are_least_privilege_by_its_own_analysis() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cloudformation");
        let mut policies = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let template = super::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for (logical_id, resource) in template["Resources"].as_object().into_iter().flatten() {
                let documents = match resource["Type"].as_str() {
                    Some("AWS::IAM::Role") => resource["Properties"]["Policies"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|policy| policy["PolicyDocument"].clone())
                        .collect(),
                    Some("AWS::IAM::ManagedPolicy" | "AWS::IAM::Policy") => {
                        vec![resource["Properties"]["PolicyDocument"].clone()]
                    }
                    _ => Vec::new(),
                };
                for document in documents {
                    let document = PolicyDocument::parse(&plain(&document).to_string())
                        .unwrap_or_else(|err| panic!("{} {logical_id}: {err}", path.display()));
                    let problems = document.problems();
                    assert!(problems.is_empty(), "{} {logical_id}: {problems:?}", path.display());
                    policies += 1;
                }
                let managed = resource["Properties"]["ManagedPolicyArns"].as_array().cloned().unwrap_or_default();
                for arn in managed.iter().map(plain) {
                    let arn = arn.as_str().unwrap_or_default();
                    assert!(
                        pipesec_shared::iam::broad_aws_managed_policy(arn).is_none(),
                        "{} {logical_id}: {arn}",
                        path.display()
                    );
                }
            }
        }
        assert!(policies >= 20, "only {policies} policies found: the templates moved?");
    }
}
