//! Where a resource's properties are in a template's text, for the locations of findings.

use std::collections::HashMap;

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
    use crate::input::template::parse;

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
        let err = parse("{\"Resources\": ").unwrap_err();
        assert!(err.starts_with("neither JSON (EOF while parsing") && err.contains("nor YAML ("), "{err}");
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
