//! The pack's own IAM policies pass the pack's own least-privilege analysis.

use std::path::Path;

use pipesec_engine::iam::PolicyDocument;
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
                    pipesec_engine::iam::broad_aws_managed_policy(arn).is_none(),
                    "{} {logical_id}: {arn}",
                    path.display()
                );
            }
        }
    }
    assert!(policies >= 20, "only {policies} policies found: the templates moved?");
}
