//! # codebuild-project-webhook-filters-anchored
//!
//! Webhook filters that decide who may trigger a build must be anchored regular expressions
//! (`^…$`). CodeBuild matches filter patterns as regular expressions anywhere in the value: an
//! `ACTOR_ACCOUNT_ID` filter `12345` also admits the account `912345678`, and an unanchored
//! `HEAD_REF` / `BASE_REF` filter admits any branch that merely contains the name. Attackers
//! have used exactly this to run their code in a trusted project's builds.
//!
//! AWS Config does not record webhooks: the rule reads the live projects with
//! `BatchGetProjects`, 100 projects a call.
//!
//! - **Resource**: `AWS::CodeBuild::Project`
//! - **Trigger**: configuration change (including oversized), and periodic sweep (webhook edits
//!   are not recorded configuration changes)
//! - **Parameters**: none
//!
//! | scenario | verdict |
//! |---|---|
//! | no webhook | COMPLIANT |
//! | every ACTOR_ACCOUNT_ID / HEAD_REF / BASE_REF pattern anchored (`^…$`, each alternative) | COMPLIANT |
//! | such a pattern unanchored | NON_COMPLIANT, naming the filter group and type |
//! | an unanchored pattern in an exclusion (`excludeMatchedPattern`) | COMPLIANT: excluding more is safe |
//! | the project no longer exists in CodeBuild | NOT_APPLICABLE |

use std::num::NonZeroUsize;

use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Aws, NoParameters, Result, Rule, Severity, Verdict};

use crate::common::codebuild_live::live_projects;

pub const ID: &str = "codebuild-project-webhook-filters-anchored";

/// The filter types whose patterns gate who can start a build.
const GATING_TYPES: &[&str] = &["ACTOR_ACCOUNT_ID", "HEAD_REF", "BASE_REF"];

#[derive(Debug)]
pub struct WebhookFiltersAnchored;

/// One webhook filter of the live project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookFilter {
    pub filter_type: String,
    pub pattern: String,
    pub exclude: bool,
}

/// The live project's webhook filter groups.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Webhook {
    #[default]
    ProjectNotFound,
    None,
    FilterGroups(Vec<Vec<WebhookFilter>>),
}

/// Every top-level alternative of `pattern` starts with `^` and ends with an unescaped `$`.
fn is_anchored(pattern: &str) -> bool {
    let mut alternatives = Vec::new();
    let (mut depth, mut in_class, mut escaped, mut start) = (0_i32, false, false, 0);
    for (index, c) in pattern.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => depth -= 1,
            '|' if !in_class && depth == 0 => {
                alternatives.push(&pattern[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    alternatives.push(&pattern[start..]);
    alternatives.iter().all(|alternative| {
        let trimmed = alternative.trim();
        let escaped_dollar = trimmed.ends_with("\\$") && !trimmed.ends_with("\\\\$");
        trimmed.starts_with('^') && trimmed.ends_with('$') && !escaped_dollar && trimmed.len() > 1
    })
}

impl Rule for WebhookFiltersAnchored {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::High;
    const AREA: Area = Area::PipelineIntegrity;
    const WEIGHT: u32 = 4;
    const REMEDIATION: &'static str = "Anchor every ACTOR_ACCOUNT_ID, HEAD_REF and BASE_REF webhook filter pattern as ^…$ (one anchored alternative per allowed value).";
    const READS: &'static [&'static str] = &["codebuild:BatchGetProjects"];
    const PERIODIC: bool = true;
    /// Every project's live answer held at once took 165 MiB at 10,000 projects, over the
    /// function's 128 MB: a sweep reads and judges 1,000 at a time (bench/README.md, "Sweeps at
    /// scale under emulated rate limits").
    const SWEEP_CHUNK: Option<NonZeroUsize> = NonZeroUsize::new(1000);
    const INPUTS: &'static [&'static str] = &["webhook", "name"];
    // The name only finds the live project; a template, which has no name before deployment
    // when CloudFormation generates it, carries what the rule reads itself.
    const UNKNOWN_TOLERANT: &'static [&'static str] = &["name"];
    type Resource = CodeBuildProject;
    type Params = NoParameters;
    type Facts = Webhook;

    async fn gather(aws: &Aws, _: &NoParameters, subjects: &[Subject<CodeBuildProject>]) -> Result<Vec<Webhook>> {
        // Config does not record webhooks: read them live unless the item has them (a template).
        // (Config records a webhook's url, not its filters.)
        let known = |subject: &Subject<CodeBuildProject>| match &subject.resource.webhook {
            Some(None) => true,
            Some(Some(webhook)) => webhook.filter_groups.is_some(),
            None => false,
        };
        let live = live_projects(aws, subjects, |subject| !known(subject)).await?;
        Ok(subjects
            .iter()
            .zip(live)
            .map(|(subject, project)| match (&subject.resource.webhook, project) {
                (Some(None), _) => Webhook::None,
                (Some(Some(webhook)), _) if let Some(groups) = &webhook.filter_groups => Webhook::FilterGroups(
                    groups
                        .iter()
                        .map(|group| {
                            group
                                .iter()
                                .map(|filter| WebhookFilter {
                                    filter_type: filter.filter_type.clone().unwrap_or_default(),
                                    pattern: filter.pattern.clone().unwrap_or_default(),
                                    exclude: filter.exclude_matched_pattern,
                                })
                                .collect()
                        })
                        .collect(),
                ),
                (_, None) => Webhook::ProjectNotFound,
                (_, Some(project)) => {
                    let Some(webhook) = project.webhook() else { return Webhook::None };
                    Webhook::FilterGroups(
                        webhook
                            .filter_groups()
                            .iter()
                            .map(|group| {
                                group
                                    .iter()
                                    .map(|filter| WebhookFilter {
                                        filter_type: filter.r#type().as_str().to_owned(),
                                        pattern: filter.pattern().to_owned(),
                                        exclude: filter.exclude_matched_pattern().unwrap_or(false),
                                    })
                                    .collect()
                            })
                            .collect(),
                    )
                }
            })
            .collect())
    }

    fn evaluate(_: &Subject<CodeBuildProject>, webhook: &Webhook, _: &NoParameters) -> Verdict {
        let groups = match webhook {
            Webhook::ProjectNotFound => return Verdict::not_applicable("the project no longer exists in CodeBuild"),
            Webhook::None => return Verdict::compliant("the project has no webhook"),
            Webhook::FilterGroups(groups) => groups,
        };
        let findings: Vec<String> = groups
            .iter()
            .enumerate()
            .flat_map(|(index, group)| {
                group
                    .iter()
                    .filter(|filter| !filter.exclude && GATING_TYPES.contains(&filter.filter_type.as_str()))
                    .filter(|filter| !is_anchored(&filter.pattern))
                    .map(move |filter| format!("filter group {} {} pattern", index + 1, filter.filter_type))
            })
            .collect();
        if findings.is_empty() {
            Verdict::compliant("every webhook filter that gates builds is anchored")
        } else {
            Verdict::non_compliant(format!(
                "unanchored webhook filters let more actors or branches trigger builds than intended: {}; \
                 anchor them as ^…$",
                findings.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_codebuild::Client as CodeBuild;
    use aws_sdk_codebuild::operation::batch_get_projects::BatchGetProjectsOutput;
    use aws_sdk_codebuild::types::{
        Project, ProjectBadge, Webhook as SdkWebhook, WebhookFilter as SdkFilter, WebhookFilterType,
    };
    use aws_smithy_mocks::{mock, mock_client};
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::subject;

    fn filters(specs: &[(&str, &str, bool)]) -> Webhook {
        let group = specs
            .iter()
            .map(|(filter_type, pattern, exclude)| WebhookFilter {
                filter_type: (*filter_type).to_owned(),
                pattern: (*pattern).to_owned(),
                exclude: *exclude,
            })
            .collect();
        Webhook::FilterGroups(vec![
            vec![WebhookFilter { filter_type: "EVENT".into(), pattern: "PUSH".into(), exclude: false }],
            group,
        ])
    }

    #[rstest]
    #[case::no_webhook(Webhook::None, Compliance::Compliant)]
    #[case::anchored_actor(filters(&[("ACTOR_ACCOUNT_ID", "^(123456|654321)$", false)]), Compliance::Compliant)]
    #[case::anchored_alternatives(filters(&[("ACTOR_ACCOUNT_ID", "^123456$|^654321$", false)]), Compliance::Compliant)]
    #[case::unanchored_actor(filters(&[("ACTOR_ACCOUNT_ID", "123456|654321", false)]), Compliance::NonCompliant)]
    #[case::one_alternative_unanchored(filters(&[("ACTOR_ACCOUNT_ID", "^123456$|654321", false)]), Compliance::NonCompliant)]
    #[case::unanchored_head_ref(filters(&[("HEAD_REF", "^refs/heads/main", false)]), Compliance::NonCompliant)]
    #[case::unanchored_base_ref(filters(&[("BASE_REF", "refs/heads/release$", false)]), Compliance::NonCompliant)]
    #[case::unanchored_exclusion(filters(&[("HEAD_REF", "dependabot", true)]), Compliance::Compliant)]
    #[case::other_types_unchecked(filters(&[("FILE_PATH", "src/", false)]), Compliance::Compliant)]
    #[case::project_gone(Webhook::ProjectNotFound, Compliance::NotApplicable)]
    fn scenario(#[case] webhook: Webhook, #[case] expected: Compliance) {
        let verdict = WebhookFiltersAnchored::evaluate(&subject(ID, "project"), &webhook, &NoParameters {});
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[rstest]
    #[case("^123$", true)]
    #[case("^(1|2)$", true)]
    #[case("^[|]$", true)]
    #[case("^a\\$", false)]
    #[case("^a\\\\$", true)]
    #[case("^", false)]
    #[case("(^a$)|b", false)]
    fn anchoring(#[case] pattern: &str, #[case] anchored: bool) {
        assert_eq!(is_anchored(pattern), anchored, "{pattern}");
    }

    #[test]
    fn reason_names_the_group_and_type() {
        let verdict = WebhookFiltersAnchored::evaluate(
            &subject(ID, "project"),
            &filters(&[("ACTOR_ACCOUNT_ID", "123456", false)]),
            &NoParameters {},
        );
        assert!(verdict.reason.contains("filter group 2 ACTOR_ACCOUNT_ID pattern"), "{}", verdict.reason);
    }

    #[tokio::test]
    async fn gather_reads_the_live_filter_groups() {
        let batch = mock!(CodeBuild::batch_get_projects).then_output(|| {
            let filter = SdkFilter::builder().r#type(WebhookFilterType::ActorAccountId).pattern("123").build().unwrap();
            let webhook = SdkWebhook::builder().filter_groups(vec![filter]).build();
            let project = Project::builder()
                .name("api-service")
                .webhook(webhook)
                .badge(ProjectBadge::builder().badge_enabled(false).build())
                .build();
            BatchGetProjectsOutput::builder().projects(project).build()
        });
        let aws = Aws::for_tests().with_codebuild(mock_client!(aws_sdk_codebuild, [&batch]));
        // Config records a webhook's url, not its filters: an item with the url alone is read live
        // too, as one without; an item that has the filters (a template) is not.
        let mut recorded: Subject<CodeBuildProject> = subject(ID, "project");
        recorded.resource.webhook = Some(Some(pipesec_engine::resources::codebuild::ProjectWebhook::default()));
        let mut templated: Subject<CodeBuildProject> = subject(ID, "project");
        templated.resource.webhook =
            Some(Some(pipesec_engine::resources::codebuild::ProjectWebhook { filter_groups: Some(Vec::new()) }));
        let subjects = [subject(ID, "project"), recorded, templated];
        let facts = WebhookFiltersAnchored::gather(&aws, &NoParameters {}, &subjects).await.unwrap();
        let expected =
            vec![vec![WebhookFilter { filter_type: "ACTOR_ACCOUNT_ID".into(), pattern: "123".into(), exclude: false }]];
        assert_eq!(
            facts,
            [
                Webhook::FilterGroups(expected.clone()),
                Webhook::FilterGroups(expected),
                Webhook::FilterGroups(Vec::new())
            ]
        );
        assert_eq!(batch.num_calls(), 1, "one read for the two that need it");
    }
}
