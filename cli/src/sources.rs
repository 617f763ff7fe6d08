//! Where an account's resources are read from (`--source`): AWS Config's inventory, the services
//! themselves, or, per resource type, whichever of the two can see it (`auto`, the default).
//!
//! Many accounts do not have Config record CodeBuild or CodePipeline. Config's inventory then
//! holds none of their resources (or the last ones recorded, stale), and a run that read only the
//! inventory would see nothing and pass. So each region's customer managed configuration recorder
//! is read first (DescribeConfigurationRecorders, DescribeConfigurationRecorderStatus: its
//! recording group and whether it is recording), and a type is read from the inventory only when
//! the recorder records it; `auto` reads the others from their service. A type that could not be
//! seen — `--source config` for a type the recorder does not record, or a read refused — is
//! reported as such: the run then fails whatever it found (see `commands::evaluate`).

use std::fmt;

use aws_sdk_codepipeline::operation::get_pipeline::GetPipelineError;
use aws_sdk_config::types::{ConfigurationRecorder, RecordingStrategyType};
use futures_util::StreamExt;
use pipesec_engine::resources::{CodeBuildProject, CodeBuildReportGroup, PipelineConfiguration};
use pipesec_engine::sweep::{self, Inventory};
use pipesec_engine::{Aws, ConfigurationItem, Error, Resource, Result};

use crate::args::Source;
use crate::input::service_shape::{self, sdk};

/// What `--source config` calls (the recorder is read to know what the inventory holds). The
/// policy document `deploy/cli-read-only-policy.json` grants exactly these per source; a test
/// checks it does.
pub const CONFIG_ACTIONS: &[&str] = &[
    "config:DescribeConfigurationRecorders",
    "config:DescribeConfigurationRecorderStatus",
    "config:SelectResourceConfig",
];
/// What `--source services` calls.
pub const SERVICE_ACTIONS: &[&str] = &[
    "codebuild:ListProjects",
    "codebuild:BatchGetProjects",
    "codebuild:ListReportGroups",
    "codebuild:BatchGetReportGroups",
    "codepipeline:ListPipelines",
    "codepipeline:GetPipeline",
];

/// BatchGetProjects and BatchGetReportGroups take at most 100 names or ARNs a call.
const BATCH: usize = 100;
/// GetPipeline calls in flight at once: CodePipeline has no batch read.
const CONCURRENT_GET_PIPELINE: usize = 4;

/// Where a resource type's items were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Config,
    Service,
}

/// How one resource type of one region was read, or why it could not be seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Read by `reader`; `why` says why there (`auto`), when it matters.
    By { reader: Reader, why: Option<String> },
    /// Not seen; the reason.
    Not(String),
}

/// One resource type of one region, read.
#[derive(Debug)]
pub struct TypeRead {
    pub resource_type: &'static str,
    pub items: Vec<ConfigurationItem>,
    /// Resources whose answer could not be mapped onto an item: no result, and the run fails.
    pub unreadable: Vec<Error>,
    pub seen: Seen,
}

/// What a region's customer managed configuration recorder records.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorder {
    /// DescribeConfigurationRecorders named none: Config records nothing in this region.
    Absent,
    /// The recorder, and whether DescribeConfigurationRecorderStatus says it is recording.
    Present { recorder: Box<ConfigurationRecorder>, recording: bool },
    /// The recorder could not be read (the reason): what Config records is unknown.
    Unknown(String),
}

impl Recorder {
    /// Reads the region's customer managed recorder (the one Describe* return when asked for none).
    /// Access denied makes it [`Recorder::Unknown`]; any other failure is an error.
    pub async fn read(aws: &Aws) -> Result<Self> {
        let recorders = match aws.config().describe_configuration_recorders().send().await {
            Ok(output) => output.configuration_recorders.unwrap_or_default(),
            Err(err) => return denied(aws.error("config:DescribeConfigurationRecorders", err)).map(Recorder::Unknown),
        };
        // Service-linked recorders (for another AWS service's own use) do not fill the inventory
        // a user's queries read; Describe without a name returns only the customer managed one.
        let Some(recorder) = recorders.into_iter().find(|recorder| recorder.service_principal.is_none()) else {
            return Ok(Recorder::Absent);
        };
        let statuses = match aws.config().describe_configuration_recorder_status().send().await {
            Ok(output) => output.configuration_recorders_status.unwrap_or_default(),
            Err(err) => {
                return denied(aws.error("config:DescribeConfigurationRecorderStatus", err)).map(Recorder::Unknown);
            }
        };
        let recording = statuses.iter().any(|status| status.name == recorder.name && status.recording);
        Ok(Recorder::Present { recorder: Box::new(recorder), recording })
    }

    /// `Ok` with the reason when the recorder records `resource_type` now, else `Err` with why not.
    pub fn records(&self, resource_type: &str) -> std::result::Result<String, String> {
        let (recorder, recording) = match self {
            Recorder::Absent => return Err("AWS Config has no configuration recorder in this region".into()),
            Recorder::Unknown(reason) => return Err(format!("what AWS Config records is unknown ({reason})")),
            Recorder::Present { recorder, recording } => (recorder, *recording),
        };
        let name = recorder.name.as_deref().unwrap_or("default");
        if !recording {
            return Err(format!("AWS Config's configuration recorder `{name}` is not recording"));
        }
        let Some(group) = &recorder.recording_group else {
            // No recording group: Config's default, every supported type.
            return Ok(format!("AWS Config's configuration recorder `{name}` records every supported type"));
        };
        let listed = |types: Option<&Vec<aws_sdk_config::types::ResourceType>>| {
            types.into_iter().flatten().any(|listed| listed.as_str() == resource_type)
        };
        let strategy = group.recording_strategy.as_ref().and_then(|strategy| strategy.use_only.as_ref());
        let in_group = match strategy {
            Some(RecordingStrategyType::ExclusionByResourceTypes) => {
                !listed(group.exclusion_by_resource_types.as_ref().and_then(|ex| ex.resource_types.as_ref()))
            }
            Some(RecordingStrategyType::InclusionByResourceTypes) => listed(group.resource_types.as_ref()),
            _ if !group.all_supported => listed(group.resource_types.as_ref()),
            // Global types (IAM) only with includeGlobalResourceTypes.
            _ => group.include_global_resource_types || !resource_type.starts_with("AWS::IAM::"),
        };
        if in_group {
            Ok(format!("AWS Config's configuration recorder `{name}` records it"))
        } else {
            Err(format!("AWS Config's configuration recorder `{name}` does not record it"))
        }
    }
}

/// The message of an access-denied error (a fact about what can be seen); any other error as is.
fn denied(err: Error) -> Result<String> {
    match err {
        Error::AccessDenied { .. } => Ok(err.to_string()),
        other => Err(other),
    }
}

impl fmt::Display for Reader {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Reader::Config => "AWS Config's inventory",
            Reader::Service => "the service",
        })
    }
}

/// The service reads of a resource type, to name them: `CodeBuild (ListProjects, BatchGetProjects)`.
pub fn service_reads(resource_type: &str) -> Option<&'static str> {
    match resource_type {
        CodeBuildProject::RESOURCE_TYPE => Some("CodeBuild (ListProjects, BatchGetProjects)"),
        CodeBuildReportGroup::RESOURCE_TYPE => Some("CodeBuild (ListReportGroups, BatchGetReportGroups)"),
        PipelineConfiguration::RESOURCE_TYPE => Some("CodePipeline (ListPipelines, GetPipeline)"),
        _ => None,
    }
}

/// Reads `resource_type` from where `source` says, given the region's recorder (read beforehand
/// for `config` and `auto`; `None` for `services`). Access denied on a read makes the type unseen
/// (or, in `auto`, tried from the service); any other failure is an error.
pub async fn read(
    aws: &Aws,
    source: Source,
    recorder: Option<&Recorder>,
    resource_type: &'static str,
) -> Result<TypeRead> {
    let records = recorder.map_or_else(|| Err("the recorder was not read".to_owned()), |r| r.records(resource_type));
    match source {
        Source::Config => {
            let mut read = from_config(aws, resource_type).await?;
            if let (Seen::By { .. }, Err(why)) = (&read.seen, records) {
                read.seen = Seen::Not(format!("{why}: its inventory may be empty or out of date"));
            }
            Ok(read)
        }
        Source::Services => from_service(aws, resource_type, None).await,
        Source::Auto => match records {
            Ok(why) => {
                let read = from_config(aws, resource_type).await?;
                match read.seen {
                    Seen::By { .. } => {
                        Ok(TypeRead { seen: Seen::By { reader: Reader::Config, why: Some(why) }, ..read })
                    }
                    Seen::Not(denied) => from_service(aws, resource_type, Some(denied)).await,
                }
            }
            Err(why) => from_service(aws, resource_type, Some(why)).await,
        },
    }
}

async fn from_config(aws: &Aws, resource_type: &'static str) -> Result<TypeRead> {
    match sweep::inventory::<ConfigurationItem>(aws, resource_type).await {
        Ok(Inventory { rows, unreadable, .. }) => Ok(TypeRead {
            resource_type,
            items: rows,
            unreadable,
            seen: Seen::By { reader: Reader::Config, why: None },
        }),
        Err(err) => Ok(unseen(resource_type, denied(err)?)),
    }
}

fn unseen(resource_type: &'static str, reason: String) -> TypeRead {
    TypeRead { resource_type, items: Vec::new(), unreadable: Vec::new(), seen: Seen::Not(reason) }
}

/// Reads the type from its own service; `why` is why not from Config (auto).
async fn from_service(aws: &Aws, resource_type: &'static str, why: Option<String>) -> Result<TypeRead> {
    let answers = match resource_type {
        CodeBuildProject::RESOURCE_TYPE => projects(aws).await,
        CodeBuildReportGroup::RESOURCE_TYPE => report_groups(aws).await,
        PipelineConfiguration::RESOURCE_TYPE => pipelines(aws).await,
        _ => {
            let reason = format!("pipesec reads {resource_type} only from AWS Config's inventory");
            return Ok(unseen(resource_type, why.map_or(reason.clone(), |why| format!("{why}; {reason}"))));
        }
    };
    let answers = match answers {
        Ok(answers) => answers,
        Err(err) => {
            let reason = denied(err)?;
            return Ok(unseen(resource_type, why.map_or(reason.clone(), |why| format!("{why}; {reason}"))));
        }
    };
    let (mut items, mut unreadable) = (Vec::new(), Vec::new());
    for answer in answers {
        match answer {
            Ok(item) => items.push(item),
            Err(err) => unreadable.push(err),
        }
    }
    items.sort_by(|a, b| a.resource_id.cmp(&b.resource_id));
    Ok(TypeRead { resource_type, items, unreadable, seen: Seen::By { reader: Reader::Service, why } })
}

/// Every project: ListProjects (all pages), then BatchGetProjects, 100 names a call.
async fn projects(aws: &Aws) -> Result<Vec<Result<ConfigurationItem>>> {
    let mut names = Vec::new();
    let mut pages = aws.codebuild().list_projects().into_paginator().send();
    while let Some(page) = pages.next().await {
        names.extend(page.map_err(|err| aws.error("codebuild:ListProjects", err))?.projects.unwrap_or_default());
    }
    let mut items = Vec::with_capacity(names.len());
    for batch in names.chunks(BATCH) {
        let output = aws
            .codebuild()
            .batch_get_projects()
            .set_names(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|err| aws.error("codebuild:BatchGetProjects", err))?;
        // A project deleted since it was listed is in `projectsNotFound`: it no longer exists.
        items.extend(output.projects().iter().map(|project| service_shape::codebuild_project(&sdk::project(project))));
    }
    Ok(items)
}

/// Every report group: ListReportGroups (all pages), then BatchGetReportGroups, 100 ARNs a call.
async fn report_groups(aws: &Aws) -> Result<Vec<Result<ConfigurationItem>>> {
    let mut arns = Vec::new();
    let mut pages = aws.codebuild().list_report_groups().into_paginator().send();
    while let Some(page) = pages.next().await {
        arns.extend(
            page.map_err(|err| aws.error("codebuild:ListReportGroups", err))?.report_groups.unwrap_or_default(),
        );
    }
    let mut items = Vec::with_capacity(arns.len());
    for batch in arns.chunks(BATCH) {
        let output = aws
            .codebuild()
            .batch_get_report_groups()
            .set_report_group_arns(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|err| aws.error("codebuild:BatchGetReportGroups", err))?;
        items.extend(
            output.report_groups().iter().map(|group| service_shape::codebuild_report_group(&sdk::report_group(group))),
        );
    }
    Ok(items)
}

/// Every pipeline: ListPipelines (all pages), then GetPipeline for each, a few at a time.
async fn pipelines(aws: &Aws) -> Result<Vec<Result<ConfigurationItem>>> {
    let mut names = Vec::new();
    let mut pages = aws.codepipeline().list_pipelines().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| aws.error("codepipeline:ListPipelines", err))?;
        names.extend(page.pipelines.unwrap_or_default().into_iter().filter_map(|summary| summary.name));
    }
    let answers: Vec<Result<Option<_>>> = futures_util::stream::iter(names)
        .map(|name| async move {
            match aws.codepipeline().get_pipeline().name(name).send().await {
                Ok(output) => Ok(Some(service_shape::codepipeline_pipeline(&sdk::pipeline(&output)))),
                // Deleted since it was listed: it no longer exists.
                Err(err) if err.as_service_error().is_some_and(GetPipelineError::is_pipeline_not_found_exception) => {
                    Ok(None)
                }
                Err(err) => Err(aws.error("codepipeline:GetPipeline", err)),
            }
        })
        .buffer_unordered(CONCURRENT_GET_PIPELINE)
        .collect()
        .await;
    answers.into_iter().filter_map(Result::transpose).collect()
}

#[cfg(test)]
mod tests {
    use aws_sdk_config::types::{ExclusionByResourceTypes, RecordingGroup, RecordingStrategy, ResourceType};

    use super::*;

    const PROJECT: &str = "AWS::CodeBuild::Project";
    const PIPELINE: &str = "AWS::CodePipeline::Pipeline";

    fn recorder(group: RecordingGroup, recording: bool) -> Recorder {
        let recorder = ConfigurationRecorder::builder().name("default").recording_group(group).build();
        Recorder::Present { recorder: Box::new(recorder), recording }
    }

    fn strategy(kind: RecordingStrategyType) -> RecordingStrategy {
        RecordingStrategy::builder().use_only(kind).build()
    }

    #[test]
    fn what_the_recorder_records_follows_its_recording_group_and_status() {
        let all = RecordingGroup::builder().all_supported(true).build();
        assert!(recorder(all.clone(), true).records(PROJECT).is_ok());
        assert!(recorder(all.clone(), true).records("AWS::IAM::Role").is_err(), "global types need includeGlobal…");
        let stopped = recorder(all, false).records(PROJECT).unwrap_err();
        assert!(stopped.contains("is not recording"), "{stopped}");

        let excluding = RecordingGroup::builder()
            .all_supported(false)
            .exclusion_by_resource_types(
                ExclusionByResourceTypes::builder().resource_types(ResourceType::from(PROJECT)).build(),
            )
            .recording_strategy(strategy(RecordingStrategyType::ExclusionByResourceTypes))
            .build();
        let why = recorder(excluding.clone(), true).records(PROJECT).unwrap_err();
        assert!(why.contains("`default` does not record it"), "{why}");
        assert!(recorder(excluding, true).records(PIPELINE).is_ok());

        let including = RecordingGroup::builder()
            .all_supported(false)
            .resource_types(ResourceType::from(PIPELINE))
            .recording_strategy(strategy(RecordingStrategyType::InclusionByResourceTypes))
            .build();
        assert!(recorder(including.clone(), true).records(PIPELINE).is_ok());
        assert!(recorder(including, true).records(PROJECT).is_err());
        // Before recording strategies: allSupported false means the listed types only.
        let listed = RecordingGroup::builder().all_supported(false).resource_types(ResourceType::from(PROJECT)).build();
        assert!(recorder(listed, true).records(PROJECT).is_ok());

        assert!(Recorder::Absent.records(PROJECT).unwrap_err().contains("no configuration recorder"));
        let unknown = Recorder::Unknown("access denied".into()).records(PROJECT).unwrap_err();
        assert!(unknown.contains("unknown (access denied)"), "{unknown}");
    }

    #[test]
    fn the_policy_document_grants_each_source_exactly_what_it_calls() {
        use std::collections::BTreeSet;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/cli-read-only-policy.json");
        let policy: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let statement = |sid: &str| -> BTreeSet<String> {
            let statements = policy["Statement"].as_array().unwrap();
            let statement = statements.iter().find(|statement| statement["Sid"] == sid).unwrap();
            assert_eq!(statement["Resource"], "*");
            statement["Action"].as_array().unwrap().iter().map(|action| action.as_str().unwrap().to_owned()).collect()
        };
        let set = |actions: &[&str]| actions.iter().map(|action| (*action).to_owned()).collect::<BTreeSet<_>>();
        assert_eq!(statement("ConfigSource"), set(CONFIG_ACTIONS), "run scripts/templates");
        assert_eq!(statement("ServicesSource"), set(SERVICE_ACTIONS), "run scripts/templates");
        let reads: Vec<&str> = pipesec_rules::catalog().iter().flat_map(|rule| rule.reads.iter().copied()).collect();
        assert_eq!(statement("RuleLiveReads"), set(&reads), "run scripts/templates");
        assert_eq!(statement("AggregatorSource"), set(&[crate::aggregator::ACTION]), "run scripts/templates");
    }

    #[test]
    fn every_type_a_rule_evaluates_has_a_service_read() {
        for rule in pipesec_rules::catalog() {
            assert!(service_reads(rule.resource_type).is_some(), "{}", rule.resource_type);
        }
    }
}
