//! Whether a bucket policy denies every request made without TLS to the bucket's objects.

use serde_json::Value;

/// Whether one statement of `policy` (a bucket policy document) denies, to every principal,
/// every S3 action on every object of `bucket` when `aws:SecureTransport` is false, and nothing
/// narrows it. A document that is not JSON denies nothing.
pub fn denies_insecure_transport(policy: &str, bucket: &str, partition: &str) -> bool {
    let Ok(document) = serde_json::from_str::<Value>(policy) else { return false };
    let objects = format!("arn:{partition}:s3:::{bucket}/");
    one_or_many(document.get("Statement")).any(|statement| denies_without_tls(statement, &objects))
}

/// A JSON value that IAM accepts as either one element or a list of them.
fn one_or_many(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    let items: &[Value] = match value {
        Some(Value::Array(items)) => items,
        Some(item) => std::slice::from_ref(item),
        None => &[],
    };
    items.iter()
}

fn strings(value: Option<&Value>) -> impl Iterator<Item = &str> {
    one_or_many(value).filter_map(Value::as_str)
}

fn denies_without_tls(statement: &Value, objects: &str) -> bool {
    // The negated forms apply to whatever they do not name: not the statement looked for.
    let negated = ["NotPrincipal", "NotAction", "NotResource"].iter().any(|key| statement.get(key).is_some());
    statement.get("Effect").and_then(Value::as_str) == Some("Deny")
        && !negated
        && every_principal(statement.get("Principal"))
        && strings(statement.get("Action")).any(|action| action == "*" || action.eq_ignore_ascii_case("s3:*"))
        && strings(statement.get("Resource")).any(|resource| covers_every_object(resource, objects))
        && only_insecure_transport(statement.get("Condition"))
}

/// `"*"` or `{"AWS": "*"}` (alone or in a list).
fn every_principal(principal: Option<&Value>) -> bool {
    match principal {
        Some(Value::String(principal)) => principal == "*",
        Some(Value::Object(principal)) => strings(principal.get("AWS")).any(|aws| aws == "*"),
        _ => false,
    }
}

/// Whether the resource pattern matches every object key: a `*` at its end, and what comes
/// before it (without wildcards) a prefix of the bucket's object ARNs `arn:…:s3:::<bucket>/`.
fn covers_every_object(resource: &str, objects: &str) -> bool {
    resource.strip_suffix('*').is_some_and(|prefix| !prefix.contains(['*', '?']) && objects.starts_with(prefix))
}

/// A condition that is exactly `{"Bool" | "BoolIfExists": {"aws:SecureTransport": "false"}}`:
/// any further operator or key would deny fewer requests. The value may be a boolean, and a
/// list (any value matches); condition keys are case-insensitive.
fn only_insecure_transport(condition: Option<&Value>) -> bool {
    let Some(Value::Object(operators)) = condition else { return false };
    let [(operator, keys)] = operators.iter().collect::<Vec<_>>()[..] else { return false };
    let Value::Object(keys) = keys else { return false };
    let [(key, values)] = keys.iter().collect::<Vec<_>>()[..] else { return false };
    (operator == "Bool" || operator == "BoolIfExists")
        && key.eq_ignore_ascii_case("aws:SecureTransport")
        && one_or_many(Some(values)).any(|value| match value {
            Value::Bool(value) => !value,
            Value::String(value) => value.eq_ignore_ascii_case("false"),
            _ => false,
        })
}
