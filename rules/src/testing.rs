//! Test helpers: fixtures are real-shaped configuration items (event model) in
//! `fixtures/<rule-id>/<scenario>.json`.

use std::path::PathBuf;

use pipesec_shared::rule::Subject;
use pipesec_shared::{ConfigurationItem, Resource};

pub fn fixture_path(rule_id: &str, scenario: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rule_id).join(format!("{scenario}.json"))
}

pub fn item(rule_id: &str, scenario: &str) -> ConfigurationItem {
    let path = fixture_path(rule_id, scenario);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    ConfigurationItem::from_value(&value).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

pub fn subject<R: Resource>(rule_id: &str, scenario: &str) -> Subject<R> {
    Subject::from_item(item(rule_id, scenario)).unwrap_or_else(|err| panic!("{rule_id}/{scenario}: {err}"))
}

/// Owned strings, for parameter lists in tests.
pub fn list(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}
