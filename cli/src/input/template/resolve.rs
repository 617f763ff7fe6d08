//! Intrinsic functions computed where their value is known offline; the rest replaced by a
//! marker that says why the value is unknown (see the module [`super`]).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Marks an unresolved value inside the tree between resolution and mapping.
pub(super) const UNRESOLVED_KEY: &str = "$pipesec:unresolved";
/// Conditions may refer to conditions; a cycle or an absurd depth stops here.
const MAX_DEPTH: usize = 64;
/// Intrinsic functions evaluated for one resource at most: a template whose values take more
/// is an error naming the resource, not a hang.
pub(super) const MAX_STEPS: usize = 100_000;
/// The longest text a function may produce. CloudFormation's whole template body is at most
/// 1 MB; a value past this can only come from functions that multiply text.
pub(super) const MAX_TEXT_BYTES: usize = 1 << 20;

/// Resource types whose `Ref` returns the name the template sets in this property.
const REF_IS_NAME: &[(&str, &str)] = &[
    ("AWS::CodeBuild::Project", "Name"),
    ("AWS::CodePipeline::Pipeline", "Name"),
    ("AWS::IAM::Role", "RoleName"),
    ("AWS::S3::Bucket", "BucketName"),
];

/// What is known about the stack besides the template: values for parameters (overriding
/// their defaults) and for pseudo parameters such as `AWS::Region` or `AWS::AccountId`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub parameters: BTreeMap<String, String>,
}

/// An intrinsic function's outcome.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Resolved {
    Known(Value),
    /// `Ref: AWS::NoValue`: the property is removed.
    NoValue,
    Unknown(Unknown),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Unknown {
    reason: String,
    /// Resources of the template the value refers to.
    refs: Vec<String>,
    /// The value with placeholders for its unknown parts, where part of it is known (`!Sub`).
    partial: Option<String>,
}

impl Unknown {
    fn new(reason: impl Into<String>) -> Self {
        Unknown { reason: reason.into(), refs: Vec::new(), partial: None }
    }

    /// What stands in for the value where a rule can judge it ([`pipesec_engine::unknown`]):
    /// the known part with placeholders, or a placeholder naming the intrinsic.
    fn placeholder(&self) -> String {
        self.partial.clone().unwrap_or_else(|| {
            // Reasons open with the intrinsic in backquotes: "`!Ref Bucket` refers to …".
            let intrinsic = self.reason.split('`').nth(1).filter(|text| text.starts_with('!'));
            pipesec_engine::unknown::placeholder(intrinsic.unwrap_or("an intrinsic function"))
        })
    }

    /// The marker left in the tree in place of the value.
    pub(super) fn marker(&self, property: &str) -> Value {
        let mut inner = Map::new();
        inner.insert("reason".into(), Value::from(self.reason.clone()));
        inner.insert("property".into(), Value::from(property));
        inner.insert("refs".into(), Value::from(self.refs.clone()));
        inner.insert("placeholder".into(), Value::from(self.placeholder()));
        let mut marker = Map::new();
        marker.insert(UNRESOLVED_KEY.into(), Value::Object(inner));
        Value::Object(marker)
    }
}

pub(super) struct Resolver<'a> {
    pub(super) context: &'a Context,
    pub(super) parameters: Map<String, Value>,
    pub(super) conditions: Map<String, Value>,
    pub(super) mappings: Map<String, Value>,
    pub(super) resources: Map<String, Value>,
    /// Conditions decided so far: `Err` holds why one cannot be.
    pub(super) decided: RefCell<BTreeMap<String, Result<bool, String>>>,
    /// The names resources give themselves (their `Ref`), resolved once each: `None` while one
    /// is being resolved, so that a name that refers to itself is found, not followed.
    pub(super) names: RefCell<BTreeMap<String, Option<Result<Value, Unknown>>>>,
    /// Functions evaluated for the current resource ([`MAX_STEPS`]).
    pub(super) steps: Cell<usize>,
    /// Why the current resource went past a bound, if it did.
    pub(super) exceeded: RefCell<Option<String>>,
}

/// The name of the intrinsic function an object is, if it is one.
fn intrinsic(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    let (key, value) = map.iter().next().filter(|_| map.len() == 1)?;
    (key == "Ref" || key.starts_with("Fn::") || key == "Condition").then_some((key.as_str(), value))
}

/// Short-form spelling for messages: `Fn::GetAtt` → `!GetAtt`.
fn short(function: &str) -> String {
    format!("!{}", function.strip_prefix("Fn::").unwrap_or(function))
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

impl Resolver<'_> {
    /// Starts the work budget of one resource.
    pub(super) fn start_resource(&self) {
        self.steps.set(0);
        self.exceeded.replace(None);
    }

    /// Records that the current resource went past a bound; its mapping then fails with `reason`.
    fn exceed(&self, reason: String) -> Resolved {
        let unknown = Unknown::new(reason.clone());
        self.exceeded.borrow_mut().get_or_insert(reason);
        Resolved::Unknown(unknown)
    }

    /// `text` as a value, unless it is past [`MAX_TEXT_BYTES`].
    fn bounded_text(&self, text: String, function: &str) -> Result<Value, Unknown> {
        if text.len() > MAX_TEXT_BYTES {
            let reason = format!("`{function}` produces a value over {MAX_TEXT_BYTES} bytes");
            return match self.exceed(reason) {
                Resolved::Unknown(unknown) => Err(unknown),
                _ => unreachable!("exceed is unknown"),
            };
        }
        Ok(Value::from(text))
    }

    pub(super) fn resolve(&self, value: &Value, property: &str, depth: usize) -> Resolved {
        if depth > MAX_DEPTH {
            return Resolved::Unknown(Unknown::new("the value nests too deeply to evaluate"));
        }
        self.steps.set(self.steps.get() + 1);
        if self.steps.get() > MAX_STEPS {
            return self.exceed(format!("its values take more than {MAX_STEPS} intrinsic function steps to compute"));
        }
        match value {
            Value::Object(map) => {
                if let Some((function, argument)) = intrinsic(map)
                    && function != "Condition"
                {
                    return self.function(function, argument, property, depth + 1);
                }
                let mut out = Map::new();
                for (key, value) in map {
                    let property = format!("{property}.{key}");
                    match self.resolve(value, &property, depth + 1) {
                        Resolved::Known(value) => {
                            out.insert(key.clone(), value);
                        }
                        Resolved::NoValue => {}
                        Resolved::Unknown(unknown) => {
                            out.insert(key.clone(), unknown.marker(&property));
                        }
                    }
                }
                Resolved::Known(Value::Object(out))
            }
            Value::Array(items) => {
                let mut out = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    let property = format!("{property}[{index}]");
                    match self.resolve(item, &property, depth + 1) {
                        Resolved::Known(value) => out.push(value),
                        Resolved::NoValue => {}
                        Resolved::Unknown(unknown) => out.push(unknown.marker(&property)),
                    }
                }
                Resolved::Known(Value::Array(out))
            }
            scalar => Resolved::Known(scalar.clone()),
        }
    }

    /// A resolved value that must be fully known (no marker inside), for functions that compute
    /// with it.
    fn known(&self, value: &Value, property: &str, depth: usize) -> Result<Value, Unknown> {
        match self.resolve(value, property, depth) {
            Resolved::Known(value) => match first_marker(&value) {
                Some(unknown) => Err(unknown),
                None => Ok(value),
            },
            Resolved::NoValue => Err(Unknown::new("`!Ref AWS::NoValue` used as a value")),
            Resolved::Unknown(unknown) => Err(unknown),
        }
    }

    fn known_text(&self, value: &Value, property: &str, depth: usize) -> Result<String, Unknown> {
        let value = self.known(value, property, depth)?;
        scalar_text(&value).ok_or_else(|| {
            Unknown::new(format!("expected a string, found {}", pipesec_engine::error::kind_of_value(&value)))
        })
    }

    fn function(&self, function: &str, argument: &Value, property: &str, depth: usize) -> Resolved {
        let result = match function {
            "Ref" => match argument.as_str() {
                Some(name) => return self.reference(name, property, depth),
                None => Err(Unknown::new("`!Ref` takes a name")),
            },
            "Fn::GetAtt" => {
                let target = match argument {
                    Value::String(text) => text.clone(),
                    Value::Array(parts) => parts.iter().filter_map(scalar_text).collect::<Vec<_>>().join("."),
                    other => other.to_string(),
                };
                let resource = target.split('.').next().unwrap_or_default().to_owned();
                Err(Unknown {
                    reason: format!("`!GetAtt {target}` is known only after deployment"),
                    refs: vec![resource],
                    partial: None,
                })
            }
            "Fn::ImportValue" => {
                let name = self.known_text(argument, property, depth).unwrap_or_else(|_| "…".to_owned());
                Err(Unknown::new(format!("`!ImportValue {name}` comes from another stack's exports")))
            }
            "Fn::Sub" => self.sub(argument, property, depth),
            "Fn::Join" => self.join(argument, property, depth),
            "Fn::Select" => self.select(argument, property, depth),
            "Fn::Split" => self.split(argument, property, depth),
            "Fn::FindInMap" => self.find_in_map(argument, property, depth),
            "Fn::If" => return self.if_(argument, property, depth),
            other => Err(Unknown::new(format!("`{}` is not evaluated offline", short(other)))),
        };
        match result {
            Ok(value) => Resolved::Known(value),
            Err(unknown) => Resolved::Unknown(unknown),
        }
    }

    fn reference(&self, name: &str, property: &str, depth: usize) -> Resolved {
        if name == "AWS::NoValue" {
            return Resolved::NoValue;
        }
        if let Some(value) = self.context.parameters.get(name) {
            return Resolved::Known(self.parameter_value(name, value));
        }
        if let Some(parameter) = self.parameters.get(name) {
            return match parameter.get("Default").and_then(scalar_text) {
                Some(default) => Resolved::Known(self.parameter_value(name, &default)),
                None => Resolved::Unknown(Unknown::new(format!(
                    "`!Ref {name}`: parameter {name} has no Default (pass --parameter {name}=VALUE)"
                ))),
            };
        }
        if name.starts_with("AWS::") {
            return Resolved::Unknown(Unknown::new(format!(
                "`!Ref {name}` is known only at deployment (pass --parameter {name}=VALUE)"
            )));
        }
        if let Some(resource) = self.resources.get(name) {
            // Some types' `Ref` is the name the template gives them: known when that name is.
            let kind = resource.get("Type").and_then(Value::as_str).unwrap_or_default();
            let named = REF_IS_NAME
                .iter()
                .find(|(t, _)| *t == kind)
                .and_then(|(_, key)| resource.pointer(&format!("/Properties/{key}")));
            if let Some(value) = named
                && let Ok(value) = self.resource_name(name, value, property, depth)
            {
                return Resolved::Known(value);
            }
            return Resolved::Unknown(Unknown {
                reason: format!("`!Ref {name}` refers to resource {name}, known only after deployment"),
                refs: vec![name.to_owned()],
                partial: None,
            });
        }
        Resolved::Unknown(Unknown::new(format!("`!Ref {name}`: the template has no parameter or resource {name}")))
    }

    /// The name resource `logical_id` gives itself (`value`), resolved once: names that refer to
    /// each other are computed once each, not once per path through them.
    fn resource_name(&self, logical_id: &str, value: &Value, property: &str, depth: usize) -> Result<Value, Unknown> {
        if let Some(state) = self.names.borrow().get(logical_id) {
            return state
                .clone()
                .unwrap_or_else(|| Err(Unknown::new(format!("the name of resource {logical_id} refers to itself"))));
        }
        self.names.borrow_mut().insert(logical_id.to_owned(), None);
        let name = self.known(value, property, depth + 1);
        self.names.borrow_mut().insert(logical_id.to_owned(), Some(name.clone()));
        name
    }

    /// A parameter's value: list types are comma-separated lists.
    fn parameter_value(&self, name: &str, text: &str) -> Value {
        let kind = self.parameters.get(name).and_then(|p| p.get("Type")).and_then(Value::as_str).unwrap_or("String");
        if kind == "CommaDelimitedList" || kind.starts_with("List<") {
            Value::Array(text.split(',').map(|item| Value::from(item.trim())).collect())
        } else {
            Value::from(text)
        }
    }

    fn sub(&self, argument: &Value, property: &str, depth: usize) -> Result<Value, Unknown> {
        let (text, variables) = match argument {
            Value::String(text) => (text.as_str(), None),
            Value::Array(parts) if !parts.is_empty() => {
                let text = parts[0].as_str().ok_or_else(|| Unknown::new("`!Sub` needs a string"))?;
                (text, parts.get(1).and_then(Value::as_object))
            }
            _ => return Err(Unknown::new("`!Sub` needs a string")),
        };
        let mut out = String::new();
        let mut unknown: Option<Unknown> = None;
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = after[..end].trim();
            rest = &after[end + 1..];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
                continue;
            }
            let value = match variables.and_then(|variables| variables.get(name)) {
                Some(value) => self.known_text(value, property, depth),
                None if name.contains('.') => {
                    let resource = name.split('.').next().unwrap_or_default().to_owned();
                    Err(Unknown {
                        reason: format!("`!Sub` uses `${{{name}}}`, known only after deployment"),
                        refs: vec![resource],
                        partial: None,
                    })
                }
                None => match self.reference(name, property, depth) {
                    Resolved::Known(value) => scalar_text(&value)
                        .ok_or_else(|| Unknown::new(format!("`!Sub` uses `${{{name}}}`, which is a list"))),
                    Resolved::NoValue => Err(Unknown::new("`!Sub` uses AWS::NoValue")),
                    Resolved::Unknown(inner) => Err(Unknown {
                        reason: format!("`!Sub` uses `${{{name}}}`: {}", inner.reason),
                        refs: inner.refs,
                        partial: None,
                    }),
                },
            };
            match (value, &mut unknown) {
                (Ok(text), _) => out.push_str(&text),
                (Err(err), None) => {
                    out.push_str(&pipesec_engine::unknown::placeholder(&format!("${{{name}}}")));
                    unknown = Some(err);
                }
                (Err(err), Some(first)) => {
                    out.push_str(&pipesec_engine::unknown::placeholder(&format!("${{{name}}}")));
                    first.refs.extend(err.refs);
                }
            }
        }
        out.push_str(rest);
        match unknown {
            Some(mut unknown) => {
                unknown.partial = Some(out);
                Err(unknown)
            }
            None => self.bounded_text(out, "Fn::Sub"),
        }
    }

    fn arguments<'v>(argument: &'v Value, function: &str, count: usize) -> Result<&'v [Value], Unknown> {
        match argument {
            Value::Array(parts) if parts.len() >= count => Ok(parts),
            _ => Err(Unknown::new(format!("`{}` needs {count} arguments", short(function)))),
        }
    }

    fn join(&self, argument: &Value, property: &str, depth: usize) -> Result<Value, Unknown> {
        let parts = Self::arguments(argument, "Fn::Join", 2)?;
        let delimiter = self.known_text(&parts[0], property, depth)?;
        let items = self.known(&parts[1], property, depth)?;
        let items = items.as_array().ok_or_else(|| Unknown::new("`!Join` needs a list"))?;
        let texts: Option<Vec<String>> = items.iter().map(scalar_text).collect();
        let texts = texts.ok_or_else(|| Unknown::new("`!Join` of non-strings"))?;
        self.bounded_text(texts.join(&delimiter), "Fn::Join")
    }

    fn select(&self, argument: &Value, property: &str, depth: usize) -> Result<Value, Unknown> {
        let parts = Self::arguments(argument, "Fn::Select", 2)?;
        let index = self.known_text(&parts[0], property, depth)?;
        let index: usize = index.trim().parse().map_err(|_| Unknown::new(format!("`!Select` index `{index}`")))?;
        let items = self.known(&parts[1], property, depth)?;
        items
            .as_array()
            .and_then(|items| items.get(index))
            .cloned()
            .ok_or_else(|| Unknown::new(format!("`!Select` index {index} is out of the list")))
    }

    fn split(&self, argument: &Value, property: &str, depth: usize) -> Result<Value, Unknown> {
        let parts = Self::arguments(argument, "Fn::Split", 2)?;
        let delimiter = self.known_text(&parts[0], property, depth)?;
        let text = self.known_text(&parts[1], property, depth)?;
        if delimiter.is_empty() {
            return Err(Unknown::new("`!Split` with an empty delimiter"));
        }
        Ok(Value::Array(text.split(delimiter.as_str()).map(Value::from).collect()))
    }

    fn find_in_map(&self, argument: &Value, property: &str, depth: usize) -> Result<Value, Unknown> {
        let parts = Self::arguments(argument, "Fn::FindInMap", 3)?;
        let mut keys = Vec::new();
        for part in &parts[..3] {
            keys.push(self.known_text(part, property, depth)?);
        }
        let found = self.mappings.get(&keys[0]).and_then(|map| map.get(&keys[1])).and_then(|map| map.get(&keys[2]));
        match found {
            Some(value) => self.known(value, property, depth),
            None => Err(Unknown::new(format!("`!FindInMap` has no entry {}.{}.{}", keys[0], keys[1], keys[2]))),
        }
    }

    fn if_(&self, argument: &Value, property: &str, depth: usize) -> Resolved {
        let parts = match Self::arguments(argument, "Fn::If", 3) {
            Ok(parts) => parts,
            Err(unknown) => return Resolved::Unknown(unknown),
        };
        let Some(name) = parts[0].as_str() else {
            return Resolved::Unknown(Unknown::new("`!If` needs a condition name"));
        };
        match self.condition(name, depth) {
            Ok(true) => self.resolve(&parts[1], property, depth),
            Ok(false) => self.resolve(&parts[2], property, depth),
            Err(reason) => Resolved::Unknown(Unknown::new(format!("`!If {name}`: {reason}"))),
        }
    }

    /// Decides a named condition, or says why it cannot be decided offline.
    pub(super) fn condition(&self, name: &str, depth: usize) -> Result<bool, String> {
        if let Some(decided) = self.decided.borrow().get(name) {
            return decided.clone();
        }
        let decided = match self.conditions.get(name) {
            None => Err(format!("the template has no condition {name}")),
            Some(_) if depth > MAX_DEPTH => Err(format!("condition {name} refers to itself")),
            Some(definition) => {
                self.decide(definition, depth + 1).map_err(|reason| format!("condition {name}: {reason}"))
            }
        };
        self.decided.borrow_mut().insert(name.to_owned(), decided.clone());
        decided
    }

    fn decide(&self, definition: &Value, depth: usize) -> Result<bool, String> {
        let Some((function, argument)) = definition.as_object().and_then(intrinsic) else {
            return Err(format!("`{definition}` is not a condition function"));
        };
        let operands = |count: usize| -> Result<&Vec<Value>, String> {
            argument
                .as_array()
                .filter(|list| list.len() >= count)
                .ok_or_else(|| format!("`{}` arguments", short(function)))
        };
        match function {
            "Condition" => self.condition(argument.as_str().unwrap_or_default(), depth),
            "Fn::Equals" => {
                let operands = operands(2)?;
                let side = |value: &Value| self.known(value, "Conditions", depth).map_err(|unknown| unknown.reason);
                let (left, right) = (side(&operands[0])?, side(&operands[1])?);
                Ok(scalar_text(&left).unwrap_or_else(|| left.to_string())
                    == scalar_text(&right).unwrap_or_else(|| right.to_string()))
            }
            "Fn::Not" => Ok(!self.decide(&operands(1)?[0], depth + 1)?),
            "Fn::And" | "Fn::Or" => {
                // A known deciding operand settles it even when others are unknown.
                let deciding = function == "Fn::Or";
                let mut undecided = None;
                for operand in operands(1)? {
                    match self.decide(operand, depth + 1) {
                        Ok(value) if value == deciding => return Ok(deciding),
                        Ok(_) => {}
                        Err(reason) => undecided = undecided.or(Some(reason)),
                    }
                }
                undecided.map_or(Ok(!deciding), Err)
            }
            other => Err(format!("`{}` is not a condition function", short(other))),
        }
    }
}

/// The first marker inside a resolved value, as an [`Unknown`].
fn first_marker(value: &Value) -> Option<Unknown> {
    match value {
        Value::Object(map) => match map.get(UNRESOLVED_KEY) {
            Some(marker) => Some(Unknown {
                reason: marker.get("reason").and_then(Value::as_str).unwrap_or_default().to_owned(),
                refs: marker
                    .get("refs")
                    .and_then(Value::as_array)
                    .map(|refs| refs.iter().filter_map(|r| r.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default(),
                partial: None,
            }),
            None => map.values().find_map(first_marker),
        },
        Value::Array(items) => items.iter().find_map(first_marker),
        _ => None,
    }
}

pub(super) fn is_marker(value: &Value) -> bool {
    value.as_object().is_some_and(|map| map.contains_key(UNRESOLVED_KEY))
}
