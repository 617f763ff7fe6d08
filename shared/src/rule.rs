//! What a rule is: a pure decision over a typed view of one resource, plus the facts it looked
//! up for that decision.

use std::fmt::Debug;
use std::future::Future;
use std::num::NonZeroUsize;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::aws::Aws;
use crate::error::Result;
use crate::item::ConfigurationItem;
use crate::verdict::Verdict;

/// A resource type a rule evaluates, read from a configuration item's `configuration`.
pub trait Resource: DeserializeOwned + Debug + Send + Sync + 'static {
    /// The AWS Config resource type, e.g. `AWS::CodeBuild::Project`.
    const RESOURCE_TYPE: &'static str;
}

/// A resource to evaluate: its configuration item and the typed view read from the item's
/// configuration (which the item then no longer holds).
#[derive(Debug, Clone)]
pub struct Subject<R> {
    pub item: ConfigurationItem<()>,
    pub resource: R,
}

impl<R: Resource> Subject<R> {
    pub fn from_item(item: ConfigurationItem) -> Result<Self> {
        let resource = item.view()?;
        Ok(Subject { item: item.with_configuration(()), resource })
    }

    /// Reads an item's JSON text and its view in one pass, as a sweep does for thousands of
    /// items: faster than [`ConfigurationItem::from_json`] then [`Self::from_item`], as the
    /// configuration is neither scanned twice nor copied (bench/README.md). `None` when the item has no configuration the view reads (a deleted
    /// resource, the API model's JSON string, an error): the caller then reads it in those two
    /// steps, which say why.
    pub fn read_in_one_pass(json: &str) -> Option<Self> {
        let mut item: ConfigurationItem<Option<R>> = serde_json::from_str(json).ok()?;
        let resource = item.configuration.take()?;
        Some(Subject { item: item.with_configuration(()), resource })
    }
}

/// How serious a NON_COMPLIANT result is: the severity reported to Security Hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }
}

/// The four areas of SEC11-BP07 a pipeline's security is scored in; every rule belongs to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Area {
    /// Where builds run: hosts, networks, isolation.
    Infrastructure,
    /// Who and what can read or act: credentials, secrets, visibility, roles.
    AccessControl,
    /// What runs and what comes out cannot be tampered with: build definitions, triggers, artifacts.
    PipelineIntegrity,
    /// What happened is recorded and kept.
    Monitoring,
}

impl Area {
    pub const ALL: [Area; 4] = [Area::Infrastructure, Area::AccessControl, Area::PipelineIntegrity, Area::Monitoring];

    /// The area's share of the overall score, in percent.
    pub fn weight(self) -> u32 {
        match self {
            Area::Infrastructure => 25,
            Area::AccessControl | Area::PipelineIntegrity => 30,
            Area::Monitoring => 15,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Area::Infrastructure => "infrastructure",
            Area::AccessControl => "access control",
            Area::PipelineIntegrity => "pipeline integrity",
            Area::Monitoring => "monitoring",
        }
    }
}

/// [`Rule::INPUTS`] of a rule that may read any part of the configuration: the empty path
/// covers every other.
pub const WHOLE_CONFIGURATION: &[&str] = &[""];

/// One pipesec check.
pub trait Rule: Send + Sync + 'static {
    /// The stable catalog id: module, binary, Lambda function and Config rule are named by it.
    const ID: &'static str;
    /// The severity of a NON_COMPLIANT result.
    const SEVERITY: Severity;
    /// The SEC11-BP07 area the rule is scored in.
    const AREA: Area;
    /// The rule's weight within its area's score (at least 1).
    const WEIGHT: u32;
    /// How to fix a NON_COMPLIANT resource, in one or two sentences.
    const REMEDIATION: &'static str;
    /// The AWS actions `gather` calls, for the least-privilege policy of the rule's function.
    const READS: &'static [&'static str] = &[];
    /// The paths of the resource's `configuration` that `evaluate` reads (camelCase as in
    /// configuration items, e.g. `environment.privilegedMode`; a path covers everything under
    /// it). The template scanner makes a rule NOT_APPLICABLE for a resource only when one of
    /// these holds a value unknown before deployment. The default, [`WHOLE_CONFIGURATION`],
    /// is always safe.
    const INPUTS: &'static [&'static str] = WHOLE_CONFIGURATION;
    /// Configuration paths `evaluate` reads only when a parameter is set, as `(parameter, path)`:
    /// e.g. `("exemptedProjects", "name")` for a rule that compares the name with its exemptions.
    const PARAMETER_INPUTS: &'static [(&'static str, &'static str)] = &[];
    /// Paths of the configuration (under [`Self::INPUTS`]) where the rule can judge a template
    /// value unknown before deployment: the scan gives it a placeholder there
    /// ([`crate::unknown`]) rather than making the rule NOT_APPLICABLE. A path belongs here when
    /// the value is only named in the reason, only its presence counts, it is judged as a
    /// reference resolved at deployment (never a plaintext secret), or the rule checks
    /// [`crate::unknown::is_unknown`] and decides from the known part or says NOT_APPLICABLE.
    const UNKNOWN_TOLERANT: &'static [&'static str] = &[];
    /// Whether the rule must also run on a schedule: it reads something whose change does not
    /// trigger a configuration change notification of the evaluated resource.
    const PERIODIC: bool = false;
    /// How many resources a periodic sweep gives `gather` at a time; `None`: all at once. A rule
    /// whose reads are per resource, and too many for AWS's request rates to fit in one
    /// invocation at scale, sets it: its sweep then stops before the function's timeout, reports
    /// what it evaluated and leaves the rest for the next sweep, which starts with the resources
    /// evaluated longest ago ([`crate::sweep`]; measurements in bench/README.md).
    const SWEEP_CHUNK: Option<NonZeroUsize> = None;
    type Resource: Resource;
    /// The rule's own parameters (see [`crate::params`]).
    type Params: DeserializeOwned + Debug + Send + Sync;
    /// What `gather` looked up for one resource; `()` for rules that decide from the item alone.
    type Facts: Default + Debug + Send + Sync;

    /// Looks up what the item lacks, for every subject at once so that reads can be batched.
    /// Returns one `Facts` per subject, in order.
    fn gather(
        aws: &Aws,
        params: &Self::Params,
        subjects: &[Subject<Self::Resource>],
    ) -> impl Future<Output = Result<Vec<Self::Facts>>> + Send {
        let _ = (aws, params);
        let facts = subjects.iter().map(|_| Self::Facts::default()).collect();
        async { Ok(facts) }
    }

    /// Which resources share the reads of `gather` (e.g. the projects of one service role): a
    /// sweep in chunks ([`Self::SWEEP_CHUNK`]) keeps each group in one chunk, so that their
    /// shared reads are made once. `None`: the resource shares nothing.
    fn sweep_group(subject: &Subject<Self::Resource>) -> Option<&str> {
        let _ = subject;
        None
    }

    /// The decision: pure, no I/O.
    fn evaluate(subject: &Subject<Self::Resource>, facts: &Self::Facts, params: &Self::Params) -> Verdict;
}

/// What deployment artifacts, documentation and the CLI need to know about a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleInfo {
    pub id: &'static str,
    pub resource_type: &'static str,
    /// The rule's parameter names.
    pub parameters: &'static [&'static str],
    pub severity: Severity,
    pub area: Area,
    pub weight: u32,
    pub remediation: &'static str,
    /// The AWS actions the rule calls beyond the engine's own ([`crate::engine::ENGINE_ACTIONS`]).
    pub reads: &'static [&'static str],
    pub periodic: bool,
    /// How many resources a periodic sweep evaluates at a time; `None`: all at once
    /// ([`Rule::SWEEP_CHUNK`]).
    pub sweep_chunk: Option<usize>,
    /// The notifications the deployed rule is triggered by ([`RuleInfo::triggers_of`]).
    pub triggers: &'static str,
    /// The configuration paths `evaluate` reads ([`Rule::INPUTS`]).
    pub inputs: &'static [&'static str],
    /// Paths read only when a parameter is set ([`Rule::PARAMETER_INPUTS`]).
    pub parameter_inputs: &'static [(&'static str, &'static str)],
    /// Paths where a template value unknown before deployment is judged ([`Rule::UNKNOWN_TOLERANT`]).
    pub unknown_tolerant: &'static [&'static str],
}

impl RuleInfo {
    /// Every rule is triggered by configuration changes (oversized ones included); the
    /// deployment schedules a periodic sweep only for rules that need one ([`Rule::PERIODIC`]).
    pub fn triggers_of(periodic: bool) -> &'static str {
        if periodic { "change, periodic" } else { "change" }
    }

    pub fn of<R: Rule>() -> Self {
        RuleInfo {
            id: R::ID,
            resource_type: R::Resource::RESOURCE_TYPE,
            parameters: crate::params::names::<R::Params>(),
            severity: R::SEVERITY,
            area: R::AREA,
            weight: R::WEIGHT,
            remediation: R::REMEDIATION,
            reads: R::READS,
            periodic: R::PERIODIC,
            sweep_chunk: R::SWEEP_CHUNK.map(NonZeroUsize::get),
            triggers: RuleInfo::triggers_of(R::PERIODIC),
            inputs: R::INPUTS,
            parameter_inputs: R::PARAMETER_INPUTS,
            unknown_tolerant: R::UNKNOWN_TOLERANT,
        }
    }
}

/// Generic code run for one rule type, chosen at run time by id (see the rules crate's
/// `with_rule`): the CLI and tools use it to reach a rule's types from its id.
pub trait RuleVisitor {
    type Output;
    fn visit<R: Rule>(self) -> Self::Output;
}
