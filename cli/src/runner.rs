//! Running the catalog's rules over configuration items, whatever their source, through the
//! engine's evaluation core ([`pipesec_engine::decide`]). What is the CLI's own: the account
//! (live reads allowed, batched over every resource) or offline inputs (a rule that needs a live
//! read for a resource reports NOT_APPLICABLE and says which read), template values unknown
//! before deployment, and findings with their locations.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use pipesec_engine::decide::{self, Prepared};
use pipesec_engine::item::Configuration;
use pipesec_engine::params;
use pipesec_engine::verdict::annotation;
use pipesec_engine::{
    Area, Aws, Compliance, ConfigurationItem, Error, Resource, Rule, RuleInfo, RuleVisitor, Severity, Verdict,
};
use serde_json::Value;

use crate::error::{CliError, Result};
use crate::input::template::mapping::{is_under, overlaps};
use crate::input::template::{self, MappedResource};
use crate::input::{Entry, Origin};

/// Where a finding is in a file: a template's property, or a snapshot file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub logical_id: Option<String>,
    pub property: Option<String>,
    pub line: Option<usize>,
    /// A Terraform plan's action for the resource (`create`, `update`, `no-op`, `replace`).
    pub action: Option<String>,
}

/// One rule's verdict on one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// The rule's SEC11-BP07 area and its weight there, for the score.
    pub area: Area,
    pub weight: u32,
    pub resource_type: String,
    pub resource_id: String,
    pub resource_name: Option<String>,
    pub arn: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub compliance: Compliance,
    /// The reason, cut to AWS Config's 256 characters as the Lambda path reports it.
    pub annotation: Option<String>,
    pub location: Option<Location>,
}

impl Finding {
    pub fn is_failure(&self) -> bool {
        self.compliance == Compliance::NonCompliant
    }

    /// The resource as people know it: its name when it has one, else its id.
    pub fn display_name(&self) -> &str {
        self.resource_name.as_deref().filter(|name| !name.is_empty()).unwrap_or(&self.resource_id)
    }
}

/// How rules may read what configuration items lack.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Against the account: `gather` reads live, batched over every resource.
    Live(Aws),
    /// Offline (`source` is "snapshot" or "template"): `gather` runs per resource on clients
    /// that refuse every call, so a rule that needs a read for a resource says so.
    Offline { aws: Aws, source: &'static str },
    /// An account of an organization (`--aggregator`) whose live reads cannot be made: `gather`
    /// runs as offline, and a rule that needs a read says which, in which account, and `why` not.
    Unreachable { aws: Aws, account: String, why: String },
}

impl Mode {
    pub fn offline(source: &'static str) -> Self {
        Mode::Offline { aws: Aws::offline(), source }
    }
}

/// The rules to run, by id, with their parameters as AWS Config would pass them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub rules: Vec<RuleInfo>,
    /// `ruleParameters` JSON per rule id, for rules given parameters.
    pub parameters: BTreeMap<&'static str, String>,
}

impl Selection {
    /// Every catalog rule, or the ones named, with `RULE_ID:NAME=VALUE` parameters checked
    /// against each rule's own parameter type before anything runs.
    pub fn new(ids: &[String], params: &[String]) -> Result<Self> {
        let catalog = pipesec_rules::catalog();
        let find = |id: &str| {
            catalog
                .iter()
                .find(|rule| rule.id == id)
                .cloned()
                .ok_or_else(|| CliError::Usage(format!("unknown rule id `{id}` (`pipesec rules` lists them)")))
        };
        let mut rules = Vec::new();
        for id in ids {
            let rule = find(id)?;
            if !rules.contains(&rule) {
                rules.push(rule);
            }
        }
        if rules.is_empty() {
            rules.clone_from(&catalog);
        }
        let mut values: BTreeMap<&'static str, serde_json::Map<String, Value>> = BTreeMap::new();
        for param in params {
            let bad = || CliError::Usage(format!("--param `{param}`: expected RULE_ID:NAME=VALUE"));
            let (id, assignment) = param.split_once(':').ok_or_else(bad)?;
            let (name, value) = assignment.split_once('=').ok_or_else(bad)?;
            let rule = find(id.trim())?;
            values.entry(rule.id).or_default().insert(name.trim().to_owned(), Value::from(value));
        }
        let parameters: BTreeMap<&'static str, String> =
            values.into_iter().map(|(id, map)| (id, Value::Object(map).to_string())).collect();
        for (id, raw) in &parameters {
            let checked = pipesec_rules::with_rule(id, CheckParameters(raw));
            checked.unwrap_or(Ok(())).map_err(|err| CliError::Usage(format!("{id}: {err}")))?;
        }
        Ok(Selection { rules, parameters })
    }

    /// The resource types the selected rules evaluate.
    pub fn resource_types(&self) -> Vec<&'static str> {
        let mut types: Vec<&'static str> = self.rules.iter().map(|rule| rule.resource_type).collect();
        types.sort_unstable();
        types.dedup();
        types
    }
}

struct CheckParameters<'a>(&'a str);

impl RuleVisitor for CheckParameters<'_> {
    type Output = std::result::Result<(), Error>;

    fn visit<R: Rule>(self) -> Self::Output {
        params::parse::<R::Params>(Some(self.0)).map(|_| ())
    }
}

/// What running rules gave: a finding for each resource a rule was run on, and the errors of
/// the items a rule's view could not read (no finding: see [`pipesec_engine::decide`]).
#[derive(Debug, Default)]
pub struct Run {
    pub findings: Vec<Finding>,
    pub unreadable: Vec<Error>,
}

impl Run {
    pub fn extend(&mut self, other: Run) {
        self.findings.extend(other.findings);
        self.unreadable.extend(other.unreadable);
    }

    /// The findings, and an error naming every item that could not be read, each once, if
    /// there were any: the results of the others are reported first, and the run then fails.
    pub fn into_parts(self) -> (Vec<Finding>, Option<CliError>) {
        let mut messages: Vec<String> = self.unreadable.iter().map(ToString::to_string).collect();
        messages.sort();
        messages.dedup();
        (self.findings, (!messages.is_empty()).then_some(CliError::Unreadable(messages)))
    }
}

/// Every selected rule over `entries`, one after the other.
pub async fn run_rules(selection: &Selection, mode: &Mode, entries: &[Entry]) -> Result<Run> {
    let mut run = Run::default();
    for rule in &selection.rules {
        let parameters = selection.parameters.get(rule.id).map(String::as_str);
        run.extend(run_rule(rule.id, mode, parameters, entries).await?);
    }
    Ok(run)
}

/// Runs one rule (chosen by id) over the entries of its resource type. The future is `Send`, so
/// that a Lambda handler (the CloudFormation hook) can await it too.
pub fn run_rule<'a>(
    id: &str,
    mode: &'a Mode,
    parameters: Option<&'a str>,
    entries: &'a [Entry],
) -> Pin<Box<dyn Future<Output = Result<Run>> + Send + 'a>> {
    if let Some(run) = pipesec_rules::with_rule(id, RunRule { mode, parameters, entries }) {
        run
    } else {
        let id = id.to_owned();
        Box::pin(async move { Err(CliError::Usage(format!("unknown rule id `{id}`"))) })
    }
}

struct RunRule<'a> {
    mode: &'a Mode,
    parameters: Option<&'a str>,
    entries: &'a [Entry],
}

impl<'a> RuleVisitor for RunRule<'a> {
    type Output = Pin<Box<dyn Future<Output = Result<Run>> + Send + 'a>>;

    fn visit<R: Rule>(self) -> Self::Output {
        Box::pin(evaluate_rule::<R>(self.mode, self.parameters, self.entries))
    }
}

async fn evaluate_rule<R: Rule>(mode: &Mode, parameters: Option<&str>, entries: &[Entry]) -> Result<Run> {
    let params = params::parse::<R::Params>(parameters)?.rule;
    let inputs = inputs::<R>(parameters);
    let mut run = Run::default();
    let mut subjects = Vec::new();
    let mut subject_entries = Vec::new();
    for entry in entries.iter().filter(|entry| entry.item.resource_type == R::Resource::RESOURCE_TYPE) {
        let item = match &entry.origin {
            Origin::Template { mapped, .. } | Origin::Terraform { mapped, .. } => {
                match template_item(mapped, &entry.item, &inputs, R::UNKNOWN_TOLERANT) {
                    Ok(item) => item,
                    Err((verdict, property)) => {
                        run.findings.push(finding::<R>(entry, &verdict, Some(property)));
                        continue;
                    }
                }
            }
            _ => entry.item.clone(),
        };
        match decide::prepare::<R>(item, false) {
            Prepared::NotApplicable(verdict) => run.findings.push(finding::<R>(entry, &verdict, None)),
            Prepared::Subject(subject) => {
                subjects.push(subject);
                subject_entries.push(entry);
            }
            Prepared::Unreadable(err) => run.unreadable.push(err),
        }
    }
    let verdicts = match mode {
        Mode::Live(aws) => decide::verdicts::<R>(aws, &params, &subjects).await?,
        Mode::Offline { aws, .. } | Mode::Unreachable { aws, .. } => {
            let mut verdicts = Vec::with_capacity(subjects.len());
            for subject in &subjects {
                let verdict = decide::verdict::<R>(aws, &params, subject).await;
                verdicts.push(verdict.unwrap_or_else(|err| needs_live_reads(&err, mode)));
            }
            verdicts
        }
    };
    for (entry, verdict) in subject_entries.into_iter().zip(&verdicts) {
        run.findings.push(finding::<R>(entry, verdict, None));
    }
    Ok(run)
}

/// A template resource's item as a rule with these `inputs` sees it: values unknown before
/// deployment under the rule's `tolerant` paths get their placeholders
/// ([`pipesec_engine::unknown`]), the others are left out. NOT_APPLICABLE, and the property,
/// when an unknown value is under an input the rule cannot judge it at: the verdict could
/// depend on it.
pub fn template_item<'a>(
    mapped: &'a MappedResource,
    item: &ConfigurationItem,
    inputs: &[&str],
    tolerant: &[&str],
) -> std::result::Result<ConfigurationItem, (Verdict, &'a str)> {
    let read =
        mapped.unresolved.iter().filter(|unresolved| inputs.iter().any(|input| overlaps(input, &unresolved.path)));
    let mut placeholders = false;
    for unresolved in read {
        if !tolerant.iter().any(|path| is_under(&unresolved.path, path)) {
            let verdict = Verdict::not_applicable(format!(
                "{} is unknown before deployment: {}",
                unresolved.property, unresolved.reason
            ));
            return Err((verdict, &unresolved.property));
        }
        placeholders = true;
    }
    let mut item = item.clone();
    if placeholders {
        item.configuration = Configuration::from_value(&mapped.configuration_with_placeholders(tolerant));
    }
    Ok(item)
}

/// The configuration paths rule `R` reads with these parameters: its inputs, and those of its
/// parameter inputs whose parameter is set.
fn inputs<R: Rule>(parameters: Option<&str>) -> Vec<&'static str> {
    let set: Vec<String> = parameters
        .and_then(|raw| serde_json::from_str::<serde_json::Map<String, Value>>(raw).ok())
        .map(|values| {
            values
                .into_iter()
                .filter(|(_, value)| !value.as_str().is_some_and(|text| text.trim().is_empty()))
                .map(|(name, _)| name)
                .collect()
        })
        .unwrap_or_default();
    let conditional = R::PARAMETER_INPUTS.iter().filter(|(parameter, _)| set.iter().any(|name| name == parameter));
    R::INPUTS.iter().copied().chain(conditional.map(|(_, path)| *path)).collect()
}

/// The NOT_APPLICABLE verdict of a rule whose `gather` tried to read while offline or unreachable.
fn needs_live_reads(err: &Error, mode: &Mode) -> Verdict {
    let action = match err {
        Error::Aws { action, .. } | Error::AccessDenied { action, .. } => *action,
        _ => "an AWS read",
    };
    Verdict::not_applicable(match mode {
        Mode::Unreachable { account, why, .. } => {
            format!("needs a live read ({action}) in account {account}, not made: {why}")
        }
        Mode::Offline { source, .. } => format!(
            "needs live reads ({action}) that a {source} scan does not make; run `pipesec evaluate` against the account"
        ),
        Mode::Live(_) => format!("needs live reads ({action})"),
    })
}

fn finding<R: Rule>(entry: &Entry, verdict: &Verdict, property: Option<&str>) -> Finding {
    let item = &entry.item;
    let location = match &entry.origin {
        Origin::Account => None,
        Origin::Snapshot { file } => {
            Some(Location { file: file.clone(), logical_id: None, property: None, line: None, action: None })
        }
        Origin::Template { file, block, mapped } => {
            let property = property.map_or_else(
                || template::property_path(&item.resource_type, R::INPUTS.first().copied().unwrap_or_default()),
                str::to_owned,
            );
            Some(Location {
                file: file.clone(),
                logical_id: Some(mapped.logical_id.clone()),
                line: block.as_ref().map(|block| block.line_of(&property)),
                property: Some(property),
                action: None,
            })
        }
        Origin::Terraform { file, action, mapped, .. } => {
            let property = property.map_or_else(
                || template::terraform::attribute_path(R::INPUTS.first().copied().unwrap_or_default()),
                str::to_owned,
            );
            Some(Location {
                file: file.clone(),
                logical_id: Some(mapped.logical_id.clone()),
                property: Some(property),
                line: None,
                action: action.clone(),
            })
        }
    };
    let mut annotation = annotation(&verdict.reason);
    if let (Origin::Terraform { sensitive, .. }, Some(text)) = (&entry.origin, annotation.as_mut()) {
        *text = redact(text, sensitive);
    }
    Finding {
        rule: R::ID,
        severity: pipesec_engine::verdict::finding_severity(R::SEVERITY, annotation.as_deref()),
        area: R::AREA,
        weight: R::WEIGHT,
        resource_type: item.resource_type.clone(),
        resource_id: item.resource_id.clone(),
        resource_name: match &entry.origin {
            // The mapping's name, unless Terraform marks it sensitive.
            Origin::Terraform { .. } => item.resource_name.clone(),
            _ => item.resource_name.clone().or_else(|| configured_name(item)),
        },
        arn: item.arn.clone(),
        account_id: item.account_id.clone(),
        region: item.aws_region.clone(),
        compliance: verdict.compliance,
        annotation,
        location,
    }
}

/// `text` with every one of the `sensitive` values replaced: Terraform's sensitive values are
/// judged, never printed.
pub fn redact(text: &str, sensitive: &[String]) -> String {
    let mut values: Vec<&String> = sensitive.iter().filter(|value| !value.is_empty()).collect();
    values.sort_by_key(|value| std::cmp::Reverse(value.len()));
    values.into_iter().fold(text.to_owned(), |text, value| text.replace(value.as_str(), "(sensitive)"))
}

/// The name inside the configuration, for items that carry no `resourceName`.
pub fn configured_name(item: &ConfigurationItem) -> Option<String> {
    /// Only the two members a name can be in; the rest of the configuration is skipped unread.
    #[derive(serde::Deserialize)]
    struct Names {
        // Present (even as null) means the pipeline's name is not looked at.
        #[serde(default, deserialize_with = "present")]
        name: Option<Value>,
        pipeline: Option<Value>,
    }
    fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Option<Value>, D::Error> {
        serde::Deserialize::deserialize(deserializer).map(Some)
    }
    let Names { name, pipeline } = item.view::<Names>().ok()?;
    let name = name.or_else(|| pipeline.and_then(|pipeline| pipeline.get("name").cloned()));
    name.as_ref().and_then(Value::as_str).filter(|name| !name.is_empty()).map(str::to_owned)
}

/// Results in the order of the JSON output contract (docs/output.md): by rule, then resource id.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.rule, &a.resource_id, &a.resource_type, &a.region).cmp(&(
            b.rule,
            &b.resource_id,
            &b.resource_type,
            &b.region,
        ))
    });
}

#[cfg(test)]
mod tests {
    use std::slice;

    use std::path::{Path, PathBuf};

    use crate::input::template::Context;
    use pipesec_engine::item::Configuration;

    use super::*;

    const ROOT: &str = env!("CARGO_MANIFEST_DIR");

    /// Every fixture of a rule (rules/fixtures/<id>/*.json), as entries.
    fn rule_fixtures(id: &str) -> Vec<(String, Entry)> {
        let dir = Path::new(ROOT).join("../rules/fixtures").join(id);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .filter_map(|path| {
                let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                // Rules keep other fixtures beside their items (e.g. an IAM account, `iam.json`).
                value.get("resourceType")?;
                let item = ConfigurationItem::from_value(&value).unwrap();
                Some((path.display().to_string(), Entry { item, origin: Origin::Account }))
            })
            .collect()
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
    }

    #[test]
    fn every_catalog_rule_is_reachable_from_the_cli_and_evaluates_its_fixtures() {
        let mode = Mode::offline("snapshot");
        let selection = Selection::new(&[], &[]).unwrap();
        assert_eq!(selection.rules, pipesec_rules::catalog(), "no rule selected means every catalog rule");
        for rule in &selection.rules {
            let fixtures = rule_fixtures(rule.id);
            assert!(!fixtures.is_empty(), "{} has no fixtures", rule.id);
            let entries: Vec<Entry> = fixtures.iter().map(|(_, entry)| entry.clone()).collect();
            let findings = block_on(run_rule(rule.id, &mode, None, &entries)).unwrap().findings;
            assert_eq!(findings.len(), entries.len(), "{}: one result per fixture", rule.id);
            assert!(findings.iter().all(|finding| finding.rule == rule.id && finding.severity == rule.severity));
        }
        let err = block_on(run_rule("no-such-rule", &mode, None, &[])).unwrap_err();
        assert!(err.to_string().contains("unknown rule id"), "{err}");
    }

    /// Keeps only `inputs` of a configuration; a path goes through lists element by element
    /// (`pipeline.stages.actions.runOrder` keeps every action's run order).
    fn pruned(configuration: &Configuration, inputs: &[&str]) -> Configuration {
        let paths: Vec<Vec<&str>> =
            inputs.iter().map(|input| input.split('.').filter(|segment| !segment.is_empty()).collect()).collect();
        Configuration::from_value(&prune(&configuration.to_value(), &paths))
    }

    fn prune(value: &Value, paths: &[Vec<&str>]) -> Value {
        if paths.iter().any(Vec::is_empty) {
            return value.clone();
        }
        match value {
            Value::Array(items) => Value::Array(items.iter().map(|item| prune(item, paths)).collect()),
            Value::Object(members) => Value::Object(
                members
                    .iter()
                    .filter_map(|(key, member)| {
                        let below: Vec<Vec<&str>> =
                            paths.iter().filter(|path| path[0] == key).map(|path| path[1..].to_vec()).collect();
                        (!below.is_empty()).then(|| (key.clone(), prune(member, &below)))
                    })
                    .collect(),
            ),
            scalar => scalar.clone(),
        }
    }

    #[test]
    fn rule_inputs_hold_everything_a_verdict_depends_on() {
        // The template scanner trusts Rule::INPUTS: a rule given only those parts of each of its
        // fixtures must decide the same.
        let mode = Mode::offline("snapshot");
        for rule in pipesec_rules::catalog() {
            for (path, entry) in rule_fixtures(rule.id) {
                let mut only_inputs = entry.clone();
                only_inputs.item.configuration = pruned(&entry.item.configuration, rule.inputs);
                let full = block_on(run_rule(rule.id, &mode, None, slice::from_ref(&entry))).unwrap().findings;
                let reduced = block_on(run_rule(rule.id, &mode, None, slice::from_ref(&only_inputs))).unwrap().findings;
                assert_eq!(full[0].compliance, reduced[0].compliance, "{}: {path}: INPUTS {:?}", rule.id, rule.inputs);
            }
        }
    }

    #[test]
    fn parameter_inputs_name_real_parameters_and_cover_what_they_make_the_rule_read() {
        let mode = Mode::offline("snapshot");
        for rule in pipesec_rules::catalog() {
            for (parameter, path) in rule.parameter_inputs {
                assert!(rule.parameters.contains(parameter), "{}: `{parameter}` is not a parameter", rule.id);
                for (fixture, entry) in rule_fixtures(rule.id) {
                    let name = configured_name(&entry.item).unwrap_or_else(|| entry.item.resource_id.clone());
                    let raw = serde_json::json!({ *parameter: name }).to_string();
                    let mut inputs = rule.inputs.to_vec();
                    inputs.push(path);
                    let mut only_inputs = entry.clone();
                    only_inputs.item.configuration = pruned(&entry.item.configuration, &inputs);
                    let full =
                        block_on(run_rule(rule.id, &mode, Some(&raw), slice::from_ref(&entry))).unwrap().findings;
                    let reduced =
                        block_on(run_rule(rule.id, &mode, Some(&raw), slice::from_ref(&only_inputs))).unwrap().findings;
                    assert_eq!(full[0].compliance, reduced[0].compliance, "{}: {fixture} with {raw}", rule.id);
                }
            }
        }
    }

    #[test]
    fn offline_rules_that_need_live_reads_say_which_read() {
        let mode = Mode::offline("snapshot");
        let fixtures = rule_fixtures("codebuild-project-not-public");
        let findings =
            block_on(run_rule("codebuild-project-not-public", &mode, None, &[fixtures[0].1.clone()])).unwrap().findings;
        assert_eq!(findings[0].compliance, Compliance::NotApplicable);
        let annotation = findings[0].annotation.as_deref().unwrap();
        assert!(
            annotation.contains("needs live reads (codebuild:BatchGetProjects)") && annotation.contains("snapshot")
        );

        // The secrets rule reads only when values are masked.
        let id = "codebuild-project-no-plaintext-secrets";
        let verdict = |scenario: &str| {
            let entry =
                rule_fixtures(id).into_iter().find(|(path, _)| path.ends_with(&format!("{scenario}.json"))).unwrap().1;
            block_on(run_rule(id, &mode, None, &[entry])).unwrap().findings.remove(0)
        };
        assert_eq!(verdict("non-compliant-aws-keys").compliance, Compliance::NonCompliant);
        let masked = verdict("masked-secret-name");
        assert_eq!(masked.compliance, Compliance::NotApplicable);
        assert!(masked.annotation.unwrap().contains("codebuild:BatchGetProjects"));
    }

    fn scan(template: &str, context: &Context) -> Vec<Finding> {
        let path = Path::new(ROOT).join("fixtures/templates").join(template);
        let entries = crate::input::template::load(&path, context).unwrap();
        let mode = Mode::offline("template");
        let mut findings = Vec::new();
        for rule in pipesec_rules::catalog() {
            findings.extend(block_on(run_rule(rule.id, &mode, None, &entries)).unwrap().findings);
        }
        findings
    }

    fn verdict<'a>(findings: &'a [Finding], rule: &str, resource: &str) -> &'a Finding {
        findings
            .iter()
            .find(|f| f.rule == rule && f.resource_id == resource)
            .unwrap_or_else(|| panic!("no {rule} result for {resource}"))
    }

    #[test]
    fn a_good_template_passes_every_rule_it_can_decide() {
        let findings = scan("good-pipeline.yaml", &Context::default());
        let catalog = pipesec_rules::catalog();
        for finding in &findings {
            let decided = finding.compliance != Compliance::NotApplicable;
            // Rules that read live (IAM roles, live projects) cannot decide from a template.
            let reads_live = catalog.iter().any(|rule| rule.id == finding.rule && !rule.reads.is_empty());
            let live = reads_live || finding.annotation.as_deref().unwrap_or_default().contains("needs live reads");
            assert!(
                (decided && finding.compliance == Compliance::Compliant) || live,
                "{} {}: {:?} {:?}",
                finding.rule,
                finding.resource_id,
                finding.compliance,
                finding.annotation
            );
        }
        assert_eq!(
            verdict(&findings, "codebuild-project-vpc-attached", "BuildProject").compliance,
            Compliance::Compliant
        );
    }

    #[test]
    fn a_bad_template_names_the_logical_id_and_property_of_each_finding() {
        let findings = scan("bad-pipeline.yaml", &Context::default());
        let privileged = verdict(&findings, "codebuild-project-privileged-mode-disabled", "ImageBuilder");
        assert_eq!(privileged.compliance, Compliance::NonCompliant);
        let location = privileged.location.as_ref().unwrap();
        assert_eq!(location.logical_id.as_deref(), Some("ImageBuilder"));
        assert_eq!(location.property.as_deref(), Some("Properties.Environment.PrivilegedMode"));
        let line = location.line.unwrap();
        let text = std::fs::read_to_string(Path::new(ROOT).join("fixtures/templates/bad-pipeline.yaml")).unwrap();
        assert!(text.lines().nth(line - 1).unwrap().contains("PrivilegedMode: true"), "line {line}");
        assert_eq!(privileged.resource_name.as_deref(), Some("docker-image-builder"));
        for (rule, resource) in [
            ("codebuild-project-no-plaintext-secrets", "PaymentsBuild"),
            ("codebuild-project-buildspec-protected", "PaymentsBuild"),
            ("codebuild-project-vpc-attached", "PaymentsBuild"),
            ("codebuild-project-logging-enabled", "ImageBuilder"),
            ("codebuild-project-artifacts-encrypted", "ImageBuilder"),
            ("codebuild-project-cmk-encrypted", "ImageBuilder"),
            ("codebuild-report-group-export-encrypted", "CoverageReports"),
        ] {
            assert_eq!(verdict(&findings, rule, resource).compliance, Compliance::NonCompliant, "{rule} {resource}");
        }
        let secrets = verdict(&findings, "codebuild-project-no-plaintext-secrets", "PaymentsBuild");
        assert!(!secrets.annotation.as_deref().unwrap().contains("ghp_"), "never a value");
        // Templates carry the visibility and the webhook: no live read needed.
        let public = verdict(&findings, "codebuild-project-not-public", "ImageBuilder");
        assert_eq!(public.compliance, Compliance::NonCompliant, "{public:?}");
        assert_eq!(public.location.as_ref().unwrap().property.as_deref(), Some("Properties.Visibility"));
        let webhook = verdict(&findings, "codebuild-project-webhook-filters-anchored", "ImageBuilder");
        assert_ne!(webhook.compliance, Compliance::NotApplicable, "{webhook:?}");
    }

    #[test]
    fn unresolved_values_make_only_the_checks_that_read_them_not_applicable() {
        let findings = scan("unresolved.yaml", &Context::default());
        let cmk = verdict(&findings, "codebuild-project-cmk-encrypted", "Build");
        assert_eq!(cmk.compliance, Compliance::NotApplicable);
        let reason = cmk.annotation.as_deref().unwrap();
        assert!(
            reason.contains("encryptionKey is unknown before deployment")
                && reason.contains("!ImportValue shared-artifact-key"),
            "{reason}"
        );
        assert_eq!(cmk.location.as_ref().unwrap().property.as_deref(), Some("Properties.EncryptionKey"));
        // `!Ref` to a NoEcho parameter without a default: not written in the template, so not a
        // plaintext secret in it.
        let secrets = verdict(&findings, "codebuild-project-no-plaintext-secrets", "Build");
        assert_eq!(secrets.compliance, Compliance::Compliant, "{secrets:?}");
        let privileged = verdict(&findings, "codebuild-project-privileged-mode-disabled", "Build");
        assert!(privileged.annotation.as_deref().unwrap().contains("AWS::Region"), "{privileged:?}");
        assert_eq!(verdict(&findings, "codebuild-project-vpc-attached", "Build").compliance, Compliance::Compliant);
        assert_eq!(
            verdict(&findings, "codebuild-project-buildspec-protected", "Build").compliance,
            Compliance::Compliant
        );

        // Given the region, the condition is decided and so is the check.
        let context = Context { parameters: [("AWS::Region".to_owned(), "eu-west-1".to_owned())].into() };
        let findings = scan("unresolved.yaml", &context);
        assert_eq!(
            verdict(&findings, "codebuild-project-privileged-mode-disabled", "Build").compliance,
            Compliance::Compliant
        );
        // The name (`${AWS::StackName}-build`) matters only to a rule told to exempt projects by name.
        let path = Path::new(ROOT).join("fixtures/templates/unresolved.yaml");
        let entries = crate::input::template::load(&path, &context).unwrap();
        let mode = Mode::offline("template");
        let id = "codebuild-project-privileged-mode-disabled";
        let exempting =
            block_on(run_rule(id, &mode, Some(r#"{"exemptedProjects": "base-images"}"#), &entries)).unwrap().findings;
        assert_eq!(exempting[0].compliance, Compliance::NotApplicable);
        let reason = exempting[0].annotation.as_deref().unwrap();
        assert!(reason.contains("Properties.Name") && reason.contains("AWS::StackName"), "{reason}");
    }

    #[test]
    fn checks_decide_whenever_the_verdict_cannot_depend_on_the_unknown_values() {
        use Compliance::{Compliant, NonCompliant, NotApplicable};
        let findings = scan("unknown-values.yaml", &Context::default());
        let expect = |rule: &str, resource: &str, expected: Compliance, says: &str| {
            let finding = verdict(&findings, rule, resource);
            let annotation = finding.annotation.as_deref().unwrap_or_default();
            assert_eq!(finding.compliance, expected, "{rule} {resource}: {annotation}");
            assert!(annotation.contains(says), "{rule} {resource}: {annotation}");
        };
        expect("codepipeline-source-authenticated", "GitHubV1Pipeline", NonCompliant, "GitHub version 1");
        expect(
            "codepipeline-artifacts-cmk-encrypted",
            "GitHubV1Pipeline",
            NonCompliant,
            "artifact store `<unknown before deployment: !Ref ArtifactBucket>` uses the AWS managed key",
        );
        expect("codepipeline-artifacts-cmk-encrypted", "RegionalStorePipeline", NonCompliant, "AWS managed key");
        expect("codepipeline-artifacts-cmk-encrypted", "ImportedLocationPipeline", NonCompliant, "AWS managed key");
        expect(
            "codepipeline-artifacts-cmk-encrypted",
            "ImportedStorePipeline",
            NotApplicable,
            "`!ImportValue shared-artifact-key`",
        );
        expect("codepipeline-region-fanout-check", "GitHubV1Pipeline", NonCompliant, "at least 3 regions");
        expect("codepipeline-no-plaintext-secrets", "GitHubV1Pipeline", Compliant, "no action setting");
        // A setting computed at deployment may resolve to a secret reference: named, not passed over.
        expect(
            "codepipeline-secrets-rotated",
            "GitHubV1Pipeline",
            NotApplicable,
            "stage `Source` action `GitHub` setting `OAuthToken` is known only at deployment",
        );
        expect(
            "codebuild-project-buildspec-protected",
            "RepositoryBuildspecProject",
            NonCompliant,
            "buildspec/buildspec.yml",
        );
        expect("codebuild-project-cmk-encrypted", "RepositoryBuildspecProject", NonCompliant, "alias/aws/s3");
        expect("codebuild-project-not-public", "RepositoryBuildspecProject", NonCompliant, "PUBLIC_READ");
        expect(
            "codebuild-project-webhook-filters-anchored",
            "RepositoryBuildspecProject",
            NonCompliant,
            "ACTOR_ACCOUNT_ID",
        );
        expect("codebuild-project-webhook-filters-anchored", "DefaultSecretProject", Compliant, "no webhook");
        expect("codebuild-project-not-public", "DefaultSecretProject", Compliant, "private");
        // A dynamic reference and a NoEcho parameter are not plaintext secrets in the template;
        // a parameter's literal default is.
        expect("codebuild-project-no-plaintext-secrets", "RepositoryBuildspecProject", Compliant, "no PLAINTEXT");
        expect("codebuild-project-no-plaintext-secrets", "DefaultSecretProject", NonCompliant, "DEPLOY_TOKEN");
        let secret = verdict(&findings, "codebuild-project-no-plaintext-secrets", "DefaultSecretProject");
        assert!(!secret.annotation.as_deref().unwrap().contains("ghp_"), "never the value");
    }

    #[test]
    fn json_templates_resolve_long_form_intrinsics() {
        let findings = scan("privileged.json", &Context::default());
        let privileged = verdict(&findings, "codebuild-project-privileged-mode-disabled", "Builder");
        assert_eq!(privileged.compliance, Compliance::NonCompliant);
        assert_eq!(privileged.resource_name.as_deref(), Some("docker-builder"));
    }

    #[test]
    fn selection_checks_ids_and_parameters_before_anything_runs() {
        let only = Selection::new(&["codebuild-project-vpc-attached".into()], &[]).unwrap();
        assert_eq!(only.rules.len(), 1);
        let err = Selection::new(&["nope".into()], &[]).unwrap_err();
        assert_eq!(err.to_string(), "unknown rule id `nope` (`pipesec rules` lists them)");
        let good = Selection::new(&[], &["codebuild-project-vpc-attached:exemptedProjects=a,b".into()]).unwrap();
        assert_eq!(good.parameters["codebuild-project-vpc-attached"], r#"{"exemptedProjects":"a,b"}"#);
        for (param, expected) in [
            ("codebuild-project-vpc-attached:exempted=a", "invalid rule parameter `exempted`"),
            ("codebuild-project-vpc-attached", "expected RULE_ID:NAME=VALUE"),
            ("codebuild-project-vpc-attached:ExecutionRoleName=r", "cross-account mode was removed"),
        ] {
            let err = Selection::new(&[], &[param.to_owned()]).unwrap_err().to_string();
            assert!(err.contains(expected), "{param}: {err}");
        }
    }
}
