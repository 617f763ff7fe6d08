//! EventBridge event patterns, judged against the failure events CodePipeline sends for a
//! pipeline: does an EventBridge rule see every failure of this pipeline?
//!
//! A failure produces three kinds of events on the default bus (source `aws.codepipeline`):
//! `CodePipeline Pipeline Execution State Change`, `CodePipeline Stage Execution State Change`
//! and `CodePipeline Action Execution State Change`, each with `detail.state` `FAILED` and
//! `detail.pipeline` the pipeline's name. A failed execution produces all three, so a pattern
//! that matches any one of them for every failure reports every failure.
//!
//! The pattern is matched against a model of each event in which the values that vary between
//! failures (execution id, stage and action names, action type, time) are present but unknown.
//! Matching is three-valued: a pattern that constrains such a value matches only some failures,
//! and does not count. Supported matchers: literal values (strings, numbers, booleans, null),
//! `prefix`, `suffix`, `equals-ignore-case`, `wildcard`, `anything-but` (a value, a list, or a
//! `prefix` / `suffix` / `equals-ignore-case` / `wildcard` inside it), `exists`, and `$or`.
//! `numeric` and `cidr` never match the string values involved; an unknown matcher is taken as
//! not matching (a rule is then reported as not covering the pipeline rather than wrongly
//! counted).

use std::collections::BTreeMap;

use serde_json::Value;

/// The detail types of CodePipeline's execution state changes, pipeline, stage and action.
pub const FAILURE_DETAIL_TYPES: [&str; 3] = [
    "CodePipeline Pipeline Execution State Change",
    "CodePipeline Stage Execution State Change",
    "CodePipeline Action Execution State Change",
];

/// Whether a pattern matches an event, when some of the event's values are unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Match {
    No,
    /// It depends on values that vary between failures: only some failures match.
    Some,
    Yes,
}

impl Match {
    fn and(self, other: Match) -> Match {
        self.min(other)
    }

    fn or(self, other: Match) -> Match {
        self.max(other)
    }

    fn from_bool(value: bool) -> Match {
        if value { Match::Yes } else { Match::No }
    }
}

/// What is known of the pipeline whose failures are reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureEvent<'a> {
    /// `None`: any pipeline (to find the rules worth a closer look).
    pub pipeline: Option<&'a str>,
    pub arn: Option<&'a str>,
    pub account: Option<&'a str>,
    pub region: Option<&'a str>,
}

/// A field of the modelled event.
#[derive(Debug, Clone)]
enum Node {
    Known(Value),
    /// Present, with a value that differs from one failure to the next.
    Unknown,
    Object(BTreeMap<&'static str, Node>),
}

fn known_or_unknown(value: Option<&str>) -> Node {
    value.map_or(Node::Unknown, |text| Node::Known(Value::from(text)))
}

impl FailureEvent<'_> {
    /// The three events of a failure, as far as they are known.
    fn variants(&self) -> [Node; 3] {
        FAILURE_DETAIL_TYPES.map(|detail_type| {
            let mut detail = BTreeMap::from([
                ("pipeline", known_or_unknown(self.pipeline)),
                ("state", Node::Known(Value::from("FAILED"))),
                ("execution-id", Node::Unknown),
                ("version", Node::Unknown),
            ]);
            if detail_type != FAILURE_DETAIL_TYPES[0] {
                detail.insert("stage", Node::Unknown);
            }
            if detail_type == FAILURE_DETAIL_TYPES[2] {
                detail.insert("action", Node::Unknown);
                detail.insert("region", Node::Unknown);
                let kind = ["owner", "category", "provider", "version"].map(|key| (key, Node::Unknown));
                detail.insert("type", Node::Object(BTreeMap::from(kind)));
            }
            let resources = self.arn.map_or(Node::Unknown, |arn| Node::Known(Value::from(vec![arn])));
            Node::Object(BTreeMap::from([
                ("version", Node::Known(Value::from("0"))),
                ("id", Node::Unknown),
                ("detail-type", Node::Known(Value::from(detail_type))),
                ("source", Node::Known(Value::from("aws.codepipeline"))),
                ("account", known_or_unknown(self.account)),
                ("time", Node::Unknown),
                ("region", known_or_unknown(self.region)),
                ("resources", resources),
                ("detail", Node::Object(detail)),
            ]))
        })
    }

    /// How well `pattern` (an EventBridge event pattern, JSON text) matches this pipeline's
    /// failures: the best of the three failure events.
    pub fn matched_by(&self, pattern: &str) -> Match {
        let Ok(Value::Object(pattern)) = serde_json::from_str::<Value>(pattern) else { return Match::No };
        let pattern = Value::Object(pattern);
        self.variants().iter().map(|event| match_object(&pattern, event)).max().unwrap_or(Match::No)
    }
}

/// A pattern object against an event object: every key must match (`$or`: any alternative).
fn match_object(pattern: &Value, event: &Node) -> Match {
    let Value::Object(keys) = pattern else { return Match::No };
    let mut result = Match::Yes;
    for (key, expected) in keys {
        let matched = if key == "$or" {
            match expected {
                Value::Array(alternatives) => {
                    alternatives.iter().map(|alternative| match_object(alternative, event)).fold(Match::No, Match::or)
                }
                _ => Match::No,
            }
        } else {
            let field = match event {
                Node::Object(fields) => fields.get(key.as_str()),
                Node::Unknown => Some(&Node::Unknown),
                Node::Known(_) => None,
            };
            match_field(expected, field)
        };
        result = result.and(matched);
        if result == Match::No {
            break;
        }
    }
    result
}

/// A pattern value (a nested object, or a list of matchers) against one event field.
fn match_field(expected: &Value, field: Option<&Node>) -> Match {
    match expected {
        Value::Object(_) => match field {
            Some(node @ (Node::Object(_) | Node::Unknown)) => match_object(expected, node),
            _ => Match::No,
        },
        Value::Array(matchers) => matchers.iter().map(|matcher| match_value(matcher, field)).fold(Match::No, Match::or),
        _ => Match::No,
    }
}

/// One matcher against one field.
fn match_value(matcher: &Value, field: Option<&Node>) -> Match {
    if let Some(exists) = matcher.get("exists").and_then(Value::as_bool) {
        return Match::from_bool(field.is_some() == exists);
    }
    match field {
        None | Some(Node::Object(_)) => Match::No,
        Some(Node::Unknown) => Match::Some,
        // An array in the event matches when any of its elements does.
        Some(Node::Known(Value::Array(values))) => {
            values.iter().map(|value| Match::from_bool(matches_scalar(matcher, value))).fold(Match::No, Match::or)
        }
        Some(Node::Known(value)) => Match::from_bool(matches_scalar(matcher, value)),
    }
}

fn matches_scalar(matcher: &Value, value: &Value) -> bool {
    match matcher {
        Value::Object(operator) => {
            let Some((name, argument)) = operator.iter().next().filter(|_| operator.len() == 1) else { return false };
            match name.as_str() {
                "anything-but" => anything_but(argument, value),
                _ => string_operator(name, argument, value).unwrap_or(false),
            }
        }
        Value::Number(expected) => value.as_f64().is_some_and(|actual| expected.as_f64() == Some(actual)),
        literal => literal == value,
    }
}

/// `prefix`, `suffix`, `equals-ignore-case`, `wildcard` on a string value; `None` for any other
/// operator (`numeric`, `cidr` and unknown ones), which does not match.
fn string_operator(name: &str, argument: &Value, value: &Value) -> Option<bool> {
    let text = value.as_str()?;
    // `{"prefix": {"equals-ignore-case": "x"}}` compares without case.
    let (argument, ignore_case) = match argument.get("equals-ignore-case") {
        Some(inner) => (inner.as_str()?, true),
        None => (argument.as_str()?, false),
    };
    let (text, argument) = if ignore_case || name == "equals-ignore-case" {
        (text.to_lowercase(), argument.to_lowercase())
    } else {
        (text.to_owned(), argument.to_owned())
    };
    match name {
        "prefix" => Some(text.starts_with(&argument)),
        "suffix" => Some(text.ends_with(&argument)),
        "equals-ignore-case" => Some(text == argument),
        "wildcard" => Some(wildcard(&argument, &text)),
        _ => None,
    }
}

fn anything_but(argument: &Value, value: &Value) -> bool {
    match argument {
        Value::Array(excluded) => !excluded.iter().any(|excluded| matches_scalar(excluded, value)),
        Value::Object(operator) => match operator.iter().next().filter(|_| operator.len() == 1) {
            // `{"anything-but": {"prefix": ["a", "b"]}}` excludes each.
            Some((name, Value::Array(arguments))) => {
                !arguments.iter().any(|argument| string_operator(name, argument, value).unwrap_or(true))
            }
            Some((name, argument)) => string_operator(name, argument, value).is_some_and(|matched| !matched),
            None => false,
        },
        excluded => !matches_scalar(excluded, value),
    }
}

/// `*` matches any run of characters; everything else literally.
pub(crate) fn wildcard(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    const PAYMENTS: FailureEvent<'static> = FailureEvent {
        pipeline: Some("payments"),
        arn: Some("arn:aws:codepipeline:us-east-1:123456789012:payments"),
        account: Some("123456789012"),
        region: Some("us-east-1"),
    };

    #[rstest]
    #[case::every_pipeline_failure(
        r#"{"source":["aws.codepipeline"],"detail-type":["CodePipeline Pipeline Execution State Change"],"detail":{"state":["FAILED"]}}"#,
        Match::Yes
    )]
    #[case::named_pipeline(
        r#"{"source":["aws.codepipeline"],"detail":{"pipeline":["payments"],"state":["FAILED","SUCCEEDED"]}}"#,
        Match::Yes
    )]
    #[case::other_pipeline(r#"{"source":["aws.codepipeline"],"detail":{"pipeline":["billing"]}}"#, Match::No)]
    #[case::state_absent(r#"{"source":["aws.codepipeline"]}"#, Match::Yes)]
    #[case::successes_only(r#"{"source":["aws.codepipeline"],"detail":{"state":["SUCCEEDED"]}}"#, Match::No)]
    #[case::other_source(r#"{"source":["aws.codebuild"],"detail":{"build-status":["FAILED"]}}"#, Match::No)]
    #[case::prefix(r#"{"source":["aws.codepipeline"],"detail":{"pipeline":[{"prefix":"pay"}]}}"#, Match::Yes)]
    #[case::prefix_ignore_case(
        r#"{"source":["aws.codepipeline"],"detail":{"pipeline":[{"prefix":{"equals-ignore-case":"PAY"}}]}}"#,
        Match::Yes
    )]
    #[case::suffix_miss(r#"{"source":["aws.codepipeline"],"detail":{"pipeline":[{"suffix":"-prod"}]}}"#, Match::No)]
    #[case::wildcard(r#"{"source":["aws.codepipeline"],"detail":{"pipeline":[{"wildcard":"p*ts"}]}}"#, Match::Yes)]
    #[case::anything_but_success(
        r#"{"source":["aws.codepipeline"],"detail":{"state":[{"anything-but":["SUCCEEDED","STARTED"]}]}}"#,
        Match::Yes
    )]
    #[case::anything_but_failed(
        r#"{"source":["aws.codepipeline"],"detail":{"state":[{"anything-but":"FAILED"}]}}"#,
        Match::No
    )]
    #[case::anything_but_prefix(
        r#"{"source":["aws.codepipeline"],"detail":{"pipeline":[{"anything-but":{"prefix":"pay"}}]}}"#,
        Match::No
    )]
    #[case::only_one_stage(r#"{"source":["aws.codepipeline"],"detail-type":["CodePipeline Stage Execution State Change"],"detail":{"stage":["Deploy"],"state":["FAILED"]}}"#, Match::Some)]
    #[case::stage_exists(r#"{"source":["aws.codepipeline"],"detail-type":["CodePipeline Stage Execution State Change"],"detail":{"stage":[{"exists":true}]}}"#, Match::Yes)]
    #[case::or_alternative(r#"{"source":["aws.codepipeline"],"$or":[{"detail":{"pipeline":["billing"]}},{"resources":["arn:aws:codepipeline:us-east-1:123456789012:payments"]}]}"#, Match::Yes)]
    #[case::other_account(r#"{"source":["aws.codepipeline"],"account":["999999999999"]}"#, Match::No)]
    #[case::numeric_on_a_name(
        r#"{"source":["aws.codepipeline"],"detail":{"pipeline":[{"numeric":[">",0]}]}}"#,
        Match::No
    )]
    #[case::unknown_operator(r#"{"source":["aws.codepipeline"],"detail":{"pipeline":[{"regex":".*"}]}}"#, Match::No)]
    #[case::not_json("{source", Match::No)]
    fn pattern_against_payments_failures(#[case] pattern: &str, #[case] expected: Match) {
        assert_eq!(PAYMENTS.matched_by(pattern), expected, "{pattern}");
    }

    #[test]
    fn any_pipeline_is_unknown_until_named() {
        let any = FailureEvent::default();
        assert_eq!(any.matched_by(r#"{"source":["aws.codepipeline"],"detail":{"pipeline":["billing"]}}"#), Match::Some);
        assert_eq!(any.matched_by(r#"{"source":["aws.codebuild"]}"#), Match::No);
    }

    #[rstest]
    #[case("a*c", "abc", true)]
    #[case("a*c", "abcd", false)]
    #[case("*", "", true)]
    #[case("a*b*c", "aXbYc", true)]
    #[case("ab*ba", "aba", false)]
    #[case("abc", "abc", true)]
    fn wildcards(#[case] pattern: &str, #[case] text: &str, #[case] expected: bool) {
        assert_eq!(wildcard(pattern, text), expected);
    }
}
