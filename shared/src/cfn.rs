//! CloudFormation templates onto the typed views the rules use, so that a template is checked
//! by the same `evaluate` as a deployed resource.
//!
//! A template (already parsed into JSON, intrinsic functions in their long form `{"Ref": …}`,
//! `{"Fn::Sub": …}`) is read in two steps:
//!
//! 1. **Resolution**: intrinsic functions whose value is known offline are computed: `Ref` to a
//!    parameter with a `Default` (or a value given in the [`Context`]), `Fn::Sub` / `Fn::Join` /
//!    `Fn::Select` / `Fn::Split` / `Fn::FindInMap` over known values, `Fn::If` on conditions
//!    that can be decided, `AWS::NoValue`. Everything else (`Fn::GetAtt`, `Fn::ImportValue`, a
//!    `Ref` to a resource, a parameter without default, pseudo parameters not given) is
//!    *unresolved*: it is left out of the configuration and recorded with its property path
//!    and the reason, never guessed.
//! 2. **Mapping**: the PascalCase properties become the camelCase `configuration` AWS Config
//!    records (`Environment.PrivilegedMode` → `environment.privilegedMode`, `Visibility` →
//!    `projectVisibility`, a pipeline's `ArtifactStores` list → the `artifactStores` map,
//!    action `Configuration` keys kept as they are), read by the same views.
//!
//! A rule is then NOT_APPLICABLE for a resource when one of its [`crate::Rule::INPUTS`] holds an
//! unresolved value ([`MappedResource::unresolved_input`]).

use std::cell::RefCell;
use std::collections::BTreeMap;

use aws_sdk_config::primitives::DateTime;
use serde_json::{Map, Value};

use crate::item::{Configuration, ConfigurationItem, ItemStatus};
use crate::resources::{CodeBuildProject, CodeBuildReportGroup, PipelineConfiguration};
use crate::rule::Resource;

/// The resource types the scanner maps; others in a template are ignored.
pub const SUPPORTED_TYPES: &[&str] =
    &[CodeBuildProject::RESOURCE_TYPE, PipelineConfiguration::RESOURCE_TYPE, CodeBuildReportGroup::RESOURCE_TYPE];

/// Marks an unresolved value inside the tree between resolution and mapping.
const UNRESOLVED_KEY: &str = "$pipesec:unresolved";
/// Conditions may refer to conditions; a cycle or an absurd depth stops here.
const MAX_DEPTH: usize = 64;

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

/// A template that cannot be read as CloudFormation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CfnError {
    #[error("not a CloudFormation template: {0}")]
    NotATemplate(String),
    #[error("resource `{logical_id}`: {reason}")]
    InvalidResource { logical_id: String, reason: String },
}

/// A value of the template that is unknown before deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// Where it lands in the configuration, e.g. `environment.environmentVariables[0].value`.
    pub path: String,
    /// Where it is in the template, e.g. `Properties.Environment.EnvironmentVariables[0].Value`.
    pub property: String,
    /// Why it is unknown, naming the intrinsic function.
    pub reason: String,
}

/// A resource of the template referenced (`Ref`, `Fn::GetAtt`, `${…}`) by a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The configuration path of the referencing value, e.g. `pipeline.stages[1].actions[0].configuration.ProjectName`.
    pub path: String,
    pub logical_id: String,
}

/// One resource of a template, in the shape of a configuration item.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedResource {
    pub logical_id: String,
    pub resource_type: String,
    /// The `configuration` AWS Config would record, unresolved values left out.
    pub configuration: Value,
    pub unresolved: Vec<Unresolved>,
    pub references: Vec<Reference>,
}

impl MappedResource {
    /// The first unresolved value under (or above) one of `inputs`, the configuration paths a
    /// rule reads: the rule's verdict could depend on it.
    pub fn unresolved_input(&self, inputs: &[&str]) -> Option<&Unresolved> {
        self.unresolved.iter().find(|unresolved| inputs.iter().any(|input| overlaps(input, &unresolved.path)))
    }

    /// The resource's own name (`Name`), when the template sets it to a known value.
    pub fn name(&self) -> Option<&str> {
        let name = match self.resource_type.as_str() {
            t if t == PipelineConfiguration::RESOURCE_TYPE => self.configuration.pointer("/pipeline/name"),
            _ => self.configuration.get("name"),
        };
        name.and_then(Value::as_str).filter(|name| !name.is_empty())
    }

    /// A configuration item for the resource: its id is the logical id.
    pub fn item(&self, account_id: Option<&str>, region: Option<&str>) -> ConfigurationItem {
        ConfigurationItem {
            resource_type: self.resource_type.clone(),
            resource_id: self.logical_id.clone(),
            resource_name: self.name().map(str::to_owned),
            arn: None,
            account_id: account_id.map(str::to_owned),
            aws_region: region.map(str::to_owned),
            status: ItemStatus::Ok,
            capture_time: DateTime::from_secs(0),
            configuration: Configuration::from_value(&self.configuration),
            supplementary_configuration: Map::new(),
            tags: BTreeMap::new(),
        }
    }
}

/// Whether two configuration paths overlap: one is the other or lies under it. List indices
/// are ignored (`source[1].location` is under `source`); the empty path covers everything.
fn overlaps(input: &str, path: &str) -> bool {
    let segments = |path: &str| -> Vec<String> {
        path.split('.')
            .filter(|segment| !segment.is_empty())
            .map(|segment| segment.split('[').next().unwrap_or_default().to_owned())
            .collect()
    };
    let (input, path) = (segments(input), segments(path));
    let common = input.len().min(path.len());
    input[..common] == path[..common]
}

/// The template property a configuration path comes from, e.g. `environment.privilegedMode`
/// → `Properties.Environment.PrivilegedMode` (the empty path is `Properties`).
pub fn property_path(resource_type: &str, config_path: &str) -> String {
    let mut segments: Vec<&str> = config_path.split('.').filter(|segment| !segment.is_empty()).collect();
    if resource_type == PipelineConfiguration::RESOURCE_TYPE && segments.first() == Some(&"pipeline") {
        segments.remove(0);
    }
    let mut path = String::from("Properties");
    let mut opaque = false;
    for segment in segments {
        path.push('.');
        if opaque {
            path.push_str(segment);
            continue;
        }
        opaque = segment == "configuration";
        match segment {
            "projectVisibility" => path.push_str("Visibility"),
            _ => path.push_str(&pascal(segment)),
        }
    }
    path
}

/// Every supported resource of `template`, mapped.
pub fn map_template(template: &Value, context: &Context) -> Result<Vec<MappedResource>, CfnError> {
    let template =
        template.as_object().ok_or_else(|| CfnError::NotATemplate("the document is not a mapping".into()))?;
    let resources = template
        .get("Resources")
        .and_then(Value::as_object)
        .ok_or_else(|| CfnError::NotATemplate("it has no `Resources` section".into()))?;
    let section = |name: &str| template.get(name).and_then(Value::as_object).cloned().unwrap_or_default();
    let resolver = Resolver {
        context,
        parameters: section("Parameters"),
        conditions: section("Conditions"),
        mappings: section("Mappings"),
        resources: resources.clone(),
        decided: RefCell::new(BTreeMap::new()),
    };
    let mut mapped = Vec::new();
    for (logical_id, resource) in resources {
        let invalid =
            |reason: &str| CfnError::InvalidResource { logical_id: logical_id.clone(), reason: reason.into() };
        let resource = resource.as_object().ok_or_else(|| invalid("not a mapping"))?;
        let resource_type = resource.get("Type").and_then(Value::as_str).ok_or_else(|| invalid("no `Type`"))?;
        if !SUPPORTED_TYPES.contains(&resource_type) {
            continue;
        }
        if let Some(condition) = resource.get("Condition").and_then(Value::as_str)
            && resolver.condition(condition, 0) == Ok(false)
        {
            continue; // not created with these parameters
        }
        let properties = match resource.get("Properties") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(properties) => match resolver.resolve(properties, "Properties", 0) {
                Resolved::Known(value @ Value::Object(_)) => value,
                Resolved::Known(_) => return Err(invalid("`Properties` is not a mapping")),
                Resolved::NoValue => Value::Object(Map::new()),
                Resolved::Unknown(unknown) => unknown.marker("Properties"),
            },
        };
        let mut configuration = match resource_type {
            t if t == PipelineConfiguration::RESOURCE_TYPE => pipeline(&properties),
            t if t == CodeBuildProject::RESOURCE_TYPE => codebuild_project(&properties),
            _ => without_tags(camel_keys(&properties)),
        };
        let (mut unresolved, mut references) = (Vec::new(), Vec::new());
        extract_markers(&mut configuration, "", &mut unresolved, &mut references);
        mapped.push(MappedResource {
            logical_id: logical_id.clone(),
            resource_type: resource_type.to_owned(),
            configuration,
            unresolved,
            references,
        });
    }
    Ok(mapped)
}

/// An intrinsic function's outcome.
#[derive(Debug, Clone, PartialEq)]
enum Resolved {
    Known(Value),
    /// `Ref: AWS::NoValue`: the property is removed.
    NoValue,
    Unknown(Unknown),
}

#[derive(Debug, Clone, PartialEq)]
struct Unknown {
    reason: String,
    /// Resources of the template the value refers to.
    refs: Vec<String>,
}

impl Unknown {
    fn new(reason: impl Into<String>) -> Self {
        Unknown { reason: reason.into(), refs: Vec::new() }
    }

    /// The marker left in the tree in place of the value.
    fn marker(&self, property: &str) -> Value {
        let mut inner = Map::new();
        inner.insert("reason".into(), Value::from(self.reason.clone()));
        inner.insert("property".into(), Value::from(property));
        inner.insert("refs".into(), Value::from(self.refs.clone()));
        let mut marker = Map::new();
        marker.insert(UNRESOLVED_KEY.into(), Value::Object(inner));
        Value::Object(marker)
    }
}

struct Resolver<'a> {
    context: &'a Context,
    parameters: Map<String, Value>,
    conditions: Map<String, Value>,
    mappings: Map<String, Value>,
    resources: Map<String, Value>,
    /// Conditions decided so far: `Err` holds why one cannot be.
    decided: RefCell<BTreeMap<String, Result<bool, String>>>,
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
    fn resolve(&self, value: &Value, property: &str, depth: usize) -> Resolved {
        if depth > MAX_DEPTH {
            return Resolved::Unknown(Unknown::new("the value nests too deeply to evaluate"));
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
        scalar_text(&value).ok_or_else(|| Unknown::new(format!("expected a string, found {value}")))
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
            if let Some(Ok(value)) = named.map(|value| self.known(value, property, depth + 1)) {
                return Resolved::Known(value);
            }
            return Resolved::Unknown(Unknown {
                reason: format!("`!Ref {name}` refers to resource {name}, known only after deployment"),
                refs: vec![name.to_owned()],
            });
        }
        Resolved::Unknown(Unknown::new(format!("`!Ref {name}`: the template has no parameter or resource {name}")))
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
                    })
                }
                None => match self.reference(name, property, depth) {
                    Resolved::Known(value) => scalar_text(&value)
                        .ok_or_else(|| Unknown::new(format!("`!Sub` uses `${{{name}}}`, which is a list"))),
                    Resolved::NoValue => Err(Unknown::new("`!Sub` uses AWS::NoValue")),
                    Resolved::Unknown(inner) => Err(Unknown {
                        reason: format!("`!Sub` uses `${{{name}}}`: {}", inner.reason),
                        refs: inner.refs,
                    }),
                },
            };
            match (value, &mut unknown) {
                (Ok(text), _) => out.push_str(&text),
                (Err(err), None) => unknown = Some(err),
                (Err(err), Some(first)) => first.refs.extend(err.refs),
            }
        }
        out.push_str(rest);
        match unknown {
            Some(unknown) => Err(unknown),
            None => Ok(Value::from(out)),
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
        texts.map(|texts| Value::from(texts.join(&delimiter))).ok_or_else(|| Unknown::new("`!Join` of non-strings"))
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
    fn condition(&self, name: &str, depth: usize) -> Result<bool, String> {
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
            }),
            None => map.values().find_map(first_marker),
        },
        Value::Array(items) => items.iter().find_map(first_marker),
        _ => None,
    }
}

fn is_marker(value: &Value) -> bool {
    value.as_object().is_some_and(|map| map.contains_key(UNRESOLVED_KEY))
}

/// Records one marker found at `path`.
fn record_marker(marker: &Value, path: String, unresolved: &mut Vec<Unresolved>, references: &mut Vec<Reference>) {
    let inner = &marker[UNRESOLVED_KEY];
    for logical_id in inner["refs"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        references.push(Reference { path: path.clone(), logical_id: logical_id.to_owned() });
    }
    unresolved.push(Unresolved {
        path,
        property: inner["property"].as_str().unwrap_or_default().to_owned(),
        reason: inner["reason"].as_str().unwrap_or_default().to_owned(),
    });
}

/// Removes the markers from the mapped configuration, recording where they were.
fn extract_markers(value: &mut Value, path: &str, unresolved: &mut Vec<Unresolved>, references: &mut Vec<Reference>) {
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let child_path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                if is_marker(&map[&key]) {
                    let marker = map.remove(&key).unwrap_or_default();
                    record_marker(&marker, child_path, unresolved, references);
                } else if let Some(child) = map.get_mut(&key) {
                    extract_markers(child, &child_path, unresolved, references);
                }
            }
        }
        Value::Array(items) => {
            let mut kept = Vec::new();
            for (index, mut item) in std::mem::take(items).into_iter().enumerate() {
                let child_path = format!("{path}[{index}]");
                if is_marker(&item) {
                    record_marker(&item, child_path, unresolved, references);
                } else {
                    extract_markers(&mut item, &child_path, unresolved, references);
                    kept.push(item);
                }
            }
            *items = kept;
        }
        _ => {}
    }
}

fn camel(key: &str) -> String {
    let mut chars = key.chars();
    chars.next().map_or_else(String::new, |first| first.to_ascii_lowercase().to_string() + chars.as_str())
}

fn pascal(key: &str) -> String {
    let mut chars = key.chars();
    chars.next().map_or_else(String::new, |first| first.to_ascii_uppercase().to_string() + chars.as_str())
}

/// Keys camelCased at every level; markers kept as they are.
fn camel_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) if is_marker(value) => Value::Object(map.clone()),
        Value::Object(map) => Value::Object(map.iter().map(|(key, value)| (camel(key), camel_keys(value))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(camel_keys).collect()),
        scalar => scalar.clone(),
    }
}

fn without_tags(mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.remove("tags");
    }
    value
}

/// A value as a list, the way Config records `source` and `artifacts`.
fn as_list(value: Value) -> Value {
    match value {
        Value::Array(_) => value,
        other => Value::Array(vec![other]),
    }
}

fn codebuild_project(properties: &Value) -> Value {
    let mut configuration = Map::new();
    for (key, value) in properties.as_object().into_iter().flatten() {
        match key.as_str() {
            "Tags" => {}
            "Visibility" => {
                configuration.insert("projectVisibility".into(), value.clone());
            }
            "Source" | "Artifacts" => {
                configuration.insert(camel(key), as_list(camel_keys(value)));
            }
            _ => {
                configuration.insert(camel(key), camel_keys(value));
            }
        }
    }
    Value::Object(configuration)
}

/// `{pipeline, metadata}` as Config records a pipeline.
fn pipeline(properties: &Value) -> Value {
    let mut pipeline = Map::new();
    for (key, value) in properties.as_object().into_iter().flatten() {
        match key.as_str() {
            "Tags" => {}
            "Stages" => {
                pipeline.insert("stages".into(), stages(value));
            }
            "ArtifactStores" => {
                pipeline.insert("artifactStores".into(), artifact_stores(value));
            }
            _ => {
                pipeline.insert(camel(key), camel_keys(value));
            }
        }
    }
    let mut configuration = Map::new();
    configuration.insert("pipeline".into(), Value::Object(pipeline));
    configuration.insert("metadata".into(), Value::Object(Map::new()));
    Value::Object(configuration)
}

fn stages(value: &Value) -> Value {
    let Value::Array(stages) = value else { return camel_keys(value) };
    let stages = stages.iter().map(|stage| {
        let Value::Object(stage) = stage else { return camel_keys(stage) };
        let mut mapped = Map::new();
        for (key, value) in stage {
            match (key.as_str(), value) {
                ("Actions", Value::Array(actions)) => {
                    mapped.insert("actions".into(), Value::Array(actions.iter().map(action).collect()));
                }
                _ => {
                    mapped.insert(camel(key), camel_keys(value));
                }
            }
        }
        Value::Object(mapped)
    });
    Value::Array(stages.collect())
}

fn action(value: &Value) -> Value {
    let Value::Object(action) = value else { return camel_keys(value) };
    let mut mapped = Map::new();
    for (key, value) in action {
        match (key.as_str(), value) {
            // Keys are the provider's own (`ProjectName`, `OAuthToken`); values are strings.
            ("Configuration", Value::Object(configuration)) => {
                let configuration = configuration
                    .iter()
                    .map(|(key, value)| {
                        let value = match value {
                            Value::Object(_) if is_marker(value) => value.clone(),
                            Value::Object(_) | Value::Array(_) => Value::from(value.to_string()),
                            scalar => scalar.clone(),
                        };
                        (key.clone(), value)
                    })
                    .collect();
                mapped.insert("configuration".into(), Value::Object(configuration));
            }
            _ => {
                mapped.insert(camel(key), camel_keys(value));
            }
        }
    }
    Value::Object(mapped)
}

/// CloudFormation's list of `{Region, ArtifactStore}` becomes Config's `{region: store}`.
fn artifact_stores(value: &Value) -> Value {
    let Value::Array(entries) = value else { return camel_keys(value) };
    let mut stores = Map::new();
    for (index, entry) in entries.iter().enumerate() {
        let store = camel_keys(entry.get("ArtifactStore").unwrap_or(&Value::Null));
        match entry.get("Region") {
            Some(Value::String(region)) => {
                stores.insert(region.clone(), store);
            }
            other => {
                // The region is unknown: keep the store (its encryption can still be judged) and
                // record that the map's key is not known.
                let mut store = store;
                if let (Some(map), Some(marker)) = (store.as_object_mut(), other.filter(|v| is_marker(v))) {
                    map.insert("region".into(), marker.clone());
                }
                stores.insert(format!("(region {index})"), store);
            }
        }
    }
    Value::Object(stores)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::codebuild::EnvironmentVariableType;

    fn template(resources: &Value) -> Value {
        json!({
            "Parameters": {
                "Privileged": {"Type": "String", "Default": "true"},
                "DbPassword": {"Type": "String", "NoEcho": true},
                "Subnets": {"Type": "List<AWS::EC2::Subnet::Id>", "Default": "subnet-1,subnet-2"},
                "Stage": {"Type": "String", "Default": "prod"}
            },
            "Conditions": {
                "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
                "InUsEast1": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
                "ProdOrEast": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "InUsEast1"}]}
            },
            "Mappings": {"Keys": {"prod": {"Arn": "arn:aws:kms:us-east-1:111122223333:key/prod"}}},
            "Resources": resources
        })
    }

    fn map_one(properties: &Value, resource_type: &str) -> MappedResource {
        let resources = json!({"Res": {"Type": resource_type, "Properties": properties}});
        let mut mapped = map_template(&template(&resources), &Context::default()).unwrap();
        assert_eq!(mapped.len(), 1);
        mapped.remove(0)
    }

    fn project(properties: &Value) -> (MappedResource, CodeBuildProject) {
        let mapped = map_one(properties, CodeBuildProject::RESOURCE_TYPE);
        let view = mapped.item(None, None).view().unwrap();
        (mapped, view)
    }

    #[test]
    fn codebuild_properties_land_on_the_view() {
        let (mapped, view) = project(&json!({
            "Name": "app",
            "Source": {"Type": "GITHUB", "Location": "https://github.com/o/r", "BuildSpec": "buildspec.yml"},
            "SecondarySources": [{"Type": "S3", "Location": "b/k", "SourceIdentifier": "extra"}],
            "Artifacts": {"Type": "S3", "Location": "out", "EncryptionDisabled": true},
            "Environment": {"Type": "LINUX_CONTAINER", "PrivilegedMode": {"Ref": "Privileged"},
                            "EnvironmentVariables": [{"Name": "A", "Value": 1}, {"Name": "B", "Type": "PARAMETER_STORE", "Value": "/p"}]},
            "LogsConfig": {"CloudWatchLogs": {"Status": "DISABLED"}, "S3Logs": {"Status": "ENABLED", "Location": "l/p", "EncryptionDisabled": "true"}},
            "VpcConfig": {"VpcId": "vpc-1", "Subnets": {"Ref": "Subnets"}, "SecurityGroupIds": ["sg-1"]},
            "EncryptionKey": {"Fn::FindInMap": ["Keys", {"Ref": "Stage"}, "Arn"]},
            "Visibility": "PUBLIC_READ",
            "QueuedTimeoutInMinutes": 30,
            "Tags": [{"Key": "team", "Value": "x"}]
        }));
        assert!(mapped.unresolved.is_empty(), "{:?}", mapped.unresolved);
        assert_eq!(mapped.name(), Some("app"));
        assert_eq!(view.source[0].buildspec.as_deref(), Some("buildspec.yml"));
        assert_eq!(view.secondary_sources[0].source_identifier.as_deref(), Some("extra"));
        assert!(view.artifacts[0].encryption_disabled);
        assert!(view.environment.privileged_mode, "Ref to a parameter with Default resolves");
        let variables = &view.environment.environment_variables;
        assert_eq!(
            (variables[0].value.as_deref(), variables[1].kind),
            (Some("1"), EnvironmentVariableType::ParameterStore)
        );
        assert_eq!(view.logs_config.cloud_watch_logs.unwrap().status.as_deref(), Some("DISABLED"));
        assert!(view.logs_config.s3_logs.unwrap().encryption_disabled);
        assert_eq!(view.vpc_config.unwrap().subnets, ["subnet-1", "subnet-2"], "list parameters split");
        assert_eq!(view.encryption_key.as_deref(), Some("arn:aws:kms:us-east-1:111122223333:key/prod"));
        assert_eq!(view.project_visibility.as_deref(), Some("PUBLIC_READ"));
        assert_eq!(view.queued_timeout_in_minutes, Some(30));
    }

    #[test]
    fn unresolved_values_are_left_out_and_named_with_their_reason() {
        let (mapped, view) = project(&json!({
            "Environment": {"PrivilegedMode": false, "EnvironmentVariables": [
                {"Name": "DB_PASSWORD", "Value": {"Ref": "DbPassword"}},
                {"Name": "KEY", "Value": {"Fn::GetAtt": ["Secret", "Arn"]}}
            ]},
            "EncryptionKey": {"Fn::ImportValue": "shared-key"},
            "ServiceRole": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:role/build"}
        }));
        let mut unresolved = mapped.unresolved.clone();
        unresolved.sort_by(|a, b| a.path.cmp(&b.path));
        let found: Vec<(&str, &str)> = unresolved.iter().map(|u| (u.path.as_str(), u.property.as_str())).collect();
        assert_eq!(
            found,
            [
                ("encryptionKey", "Properties.EncryptionKey"),
                ("environment.environmentVariables[0].value", "Properties.Environment.EnvironmentVariables[0].Value"),
                ("environment.environmentVariables[1].value", "Properties.Environment.EnvironmentVariables[1].Value"),
                ("serviceRole", "Properties.ServiceRole"),
            ]
        );
        let reasons: Vec<&str> = unresolved.iter().map(|u| u.reason.as_str()).collect();
        assert!(reasons[0].contains("`!ImportValue shared-key`"), "{}", reasons[0]);
        assert!(reasons[1].contains("parameter DbPassword has no Default"), "{}", reasons[1]);
        assert!(reasons[2].contains("`!GetAtt Secret.Arn`"), "{}", reasons[2]);
        assert!(reasons[3].contains("AWS::AccountId"), "{}", reasons[3]);
        assert_eq!(view.encryption_key, None);
        assert_eq!(view.environment.environment_variables[0].value, None, "never a guessed value");
        assert!(mapped.unresolved_input(&["environment.environmentVariables"]).is_some());
        assert!(mapped.unresolved_input(&["encryptionKey"]).is_some());
        assert!(mapped.unresolved_input(&["environment.privilegedMode"]).is_none());
        assert!(mapped.unresolved_input(&[""]).is_some(), "the whole configuration covers everything");
    }

    #[test]
    fn context_values_resolve_pseudo_parameters_and_override_defaults() {
        let resources = json!({"P": {"Type": "AWS::CodeBuild::Project", "Properties": {
            "ServiceRole": {"Fn::Sub": ["arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${Name}", {"Name": "build"}]},
            "Environment": {"PrivilegedMode": {"Ref": "Privileged"}},
            "Description": {"Fn::Sub": "literal ${!NotAVariable}"}
        }}});
        let context = Context {
            parameters: [("AWS::AccountId", "123456789012"), ("AWS::Partition", "aws"), ("Privileged", "false")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .into(),
        };
        let mapped = &map_template(&template(&resources), &context).unwrap()[0];
        assert!(mapped.unresolved.is_empty(), "{:?}", mapped.unresolved);
        assert_eq!(mapped.configuration["serviceRole"], "arn:aws:iam::123456789012:role/build");
        assert_eq!(mapped.configuration["environment"]["privilegedMode"], "false");
        assert_eq!(mapped.configuration["description"], "literal ${NotAVariable}");
    }

    #[test]
    fn conditions_decide_if_and_resources_when_they_can() {
        let resources = json!({
            "Decided": {"Type": "AWS::CodeBuild::Project", "Properties": {
                "EncryptionKey": {"Fn::If": ["IsProd", "arn:aws:kms:us-east-1:1:key/k", {"Ref": "AWS::NoValue"}]},
                "VpcConfig": {"Fn::If": ["ProdOrEast", {"VpcId": "vpc-1"}, {"Ref": "AWS::NoValue"}]},
                "Environment": {"PrivilegedMode": {"Fn::If": ["InUsEast1", true, false]}}
            }},
            "Skipped": {"Type": "AWS::CodeBuild::Project", "Condition": "NotProd", "Properties": {}},
            "Other": {"Type": "AWS::S3::Bucket"}
        });
        let mut template = template(&resources);
        template["Conditions"]["NotProd"] = json!({"Fn::Not": [{"Condition": "IsProd"}]});
        let mapped = map_template(&template, &Context::default()).unwrap();
        assert_eq!(mapped.len(), 1, "a resource whose condition is false is not created; S3 is not scanned");
        let decided = &mapped[0];
        assert_eq!(decided.configuration["encryptionKey"], "arn:aws:kms:us-east-1:1:key/k");
        assert_eq!(decided.configuration["vpcConfig"]["vpcId"], "vpc-1", "Or with one known true operand");
        let [unresolved] = decided.unresolved.as_slice() else { panic!("{:?}", decided.unresolved) };
        assert_eq!(unresolved.path, "environment.privilegedMode");
        assert!(unresolved.reason.contains("`!If InUsEast1`") && unresolved.reason.contains("AWS::Region"));
    }

    #[test]
    fn pipelines_map_stages_actions_stores_and_references() {
        let resources = json!({"Res": {"Type": "AWS::CodePipeline::Pipeline", "Properties": json!({
                "Name": "release", "RoleArn": {"Fn::GetAtt": ["PipelineRole", "Arn"]},
                "ArtifactStores": [
                    {"Region": "us-east-1", "ArtifactStore": {"Type": "S3", "Location": "b1", "EncryptionKey": {"Id": "k", "Type": "KMS"}}},
                    {"Region": "eu-west-1", "ArtifactStore": {"Type": "S3", "Location": "b2"}}
                ],
                "Stages": [
                    {"Name": "Source", "Actions": [{"Name": "GitHub",
                        "ActionTypeId": {"Category": "Source", "Owner": "ThirdParty", "Provider": "GitHub", "Version": "1"},
                        "Configuration": {"Owner": "o", "OAuthToken": "{{resolve:secretsmanager:gh}}", "PollForSourceChanges": false}}]},
                    {"Name": "Build", "Actions": [{"Name": "Build", "RunOrder": 2,
                        "ActionTypeId": {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"},
                        "Configuration": {"ProjectName": {"Ref": "BuildProject"},
                                          "EnvironmentVariables": [{"name": "A", "value": "1"}]}}]}
                ]
            })}, "BuildProject": {"Type": "AWS::CodeBuild::Project"}});
        let mapped = map_template(&template(&resources), &Context::default())
            .unwrap()
            .into_iter()
            .find(|mapped| mapped.resource_type == PipelineConfiguration::RESOURCE_TYPE)
            .unwrap();
        let view: PipelineConfiguration = mapped.item(None, None).view().unwrap();
        let pipeline = &view.pipeline;
        assert_eq!(pipeline.name.as_deref(), Some("release"));
        assert_eq!(pipeline.artifact_stores().count(), 2);
        assert_eq!(pipeline.artifact_stores["us-east-1"].encryption_key.as_ref().unwrap().id.as_deref(), Some("k"));
        let source = &pipeline.stages[0].actions[0];
        assert_eq!((source.action_type_id.provider(), source.action_type_id.version()), ("GitHub", Some("1")));
        assert_eq!(source.configuration.get("PollForSourceChanges"), Some("false"), "configuration keys are kept");
        let build = &pipeline.stages[1].actions[0];
        assert_eq!(build.run_order(), 2);
        assert_eq!(build.configuration.get("EnvironmentVariables"), Some(r#"[{"name":"A","value":"1"}]"#));
        assert!(!build.configuration.contains_key("ProjectName"), "a Ref to a resource is unknown");
        let references: Vec<(&str, &str)> =
            mapped.references.iter().map(|r| (r.path.as_str(), r.logical_id.as_str())).collect();
        assert_eq!(
            references,
            [
                ("pipeline.roleArn", "PipelineRole"),
                ("pipeline.stages[1].actions[0].configuration.ProjectName", "BuildProject")
            ]
        );
        assert_eq!(mapped.unresolved[1].property, "Properties.Stages[1].Actions[0].Configuration.ProjectName");
    }

    #[test]
    fn report_groups_map_in_camel_case() {
        let mapped = map_one(
            &json!({"Name": "tests", "Type": "TEST", "ExportConfig": {"ExportConfigType": "S3",
                    "S3Destination": {"Bucket": "reports", "EncryptionDisabled": true}}}),
            CodeBuildReportGroup::RESOURCE_TYPE,
        );
        let view: CodeBuildReportGroup = mapped.item(None, None).view().unwrap();
        assert!(view.export_config.s3_destination.unwrap().encryption_disabled);
    }

    #[test]
    fn property_paths_name_the_template_property() {
        let project = CodeBuildProject::RESOURCE_TYPE;
        assert_eq!(property_path(project, "environment.privilegedMode"), "Properties.Environment.PrivilegedMode");
        assert_eq!(property_path(project, "projectVisibility"), "Properties.Visibility");
        assert_eq!(property_path(project, ""), "Properties");
        assert_eq!(
            property_path(PipelineConfiguration::RESOURCE_TYPE, "pipeline.stages.actions.configuration.OAuthToken"),
            "Properties.Stages.Actions.Configuration.OAuthToken"
        );
    }

    #[test]
    fn not_a_template_is_an_error() {
        assert!(matches!(map_template(&json!([1]), &Context::default()), Err(CfnError::NotATemplate(_))));
        assert!(matches!(map_template(&json!({"A": 1}), &Context::default()), Err(CfnError::NotATemplate(_))));
        let err = map_template(&json!({"Resources": {"X": {"Properties": {}}}}), &Context::default()).unwrap_err();
        assert_eq!(err.to_string(), "resource `X`: no `Type`");
    }

    #[test]
    fn paths_overlap_by_segments_ignoring_indices() {
        assert!(overlaps("source", "source[1].location"));
        assert!(overlaps("environment.environmentVariables", "environment"));
        assert!(!overlaps("environment.privilegedMode", "environment.environmentVariables[0].value"));
        assert!(!overlaps("logsConfig", "logsConfigX"));
        assert!(overlaps("", "anything"));
    }
}
