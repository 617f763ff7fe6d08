"""The fewest API calls a periodic sweep of each rule can make over the benchmark account.

Derived from the account's plan (what exists and who uses what) and from the reads a sweep must do
by design, never from the calls the rules make:

- Config: SelectResourceConfig pages the inventory, 100 rows a page (sweep.rs `inventory`);
  GetComplianceDetailsByConfigRule pages the rule's COMPLIANT and NON_COMPLIANT results, 100 a page
  (sweep.rs `stale_results`), so that resources gone since the last sweep are cleared; PutEvaluations
  takes 100 evaluations a call: one per current resource plus one per stale result. Any paged read
  costs at least one call, even when empty.
- CodeBuild: BatchGetProjects takes 100 names a call, for the distinct projects whose live data the
  rule needs (every project for visibility and webhooks; the masked ones for plaintext secrets; the
  projects pipelines build in for build isolation).
- IAM (iam/read.rs): per distinct role named, ListAttachedRolePolicies (one page: no role holds 100
  policies); per role that exists, ListRolePolicies and one GetRolePolicy per inline policy; per
  distinct customer managed policy, GetPolicy and GetPolicyVersion. AWS managed policies are judged by
  name. A role IAM does not have stops at its first read (NoSuchEntity).
- Monitoring: failure alerting lists the account's notification rules, EventBridge rules and alarms
  once per invocation, describes each notification rule and reads the targets of each enabled
  EventBridge rule whose pattern can match a pipeline failure; execution anomalies lists each
  pipeline's executions (no batch API) and asks CloudTrail once per sensitive operation (7); build
  anomalies lists each project's builds (no batch listing; BatchGetBuilds only for builds found,
  none in the benchmark account) and asks CloudTrail once per operation it watches (6). Both sweep
  in chunks (the catalog's `sweepChunk`), and ask CloudTrail again for each chunk.
"""

import math

from sweep_account import Plan

PAGE = 100
CODEBUILD_PROJECT = "AWS::CodeBuild::Project"
CODEBUILD_REPORT_GROUP = "AWS::CodeBuild::ReportGroup"
CODEPIPELINE_PIPELINE = "AWS::CodePipeline::Pipeline"
# codepipeline-execution-anomalies: DeletePipeline, UpdatePipeline, StopPipelineExecution,
# DisableStageTransition, PutJobFailureResult, RetryStageExecution, PutApprovalResult, each one
# LookupEvents read (50 events a page).
SENSITIVE_OPERATIONS = 7
# codebuild-project-build-anomalies: StartBuild, UpdateProject, ImportSourceCredentials and the
# three webhook operations.
BUILD_OPERATIONS = 6
LOOKUP_EVENTS_PAGE = 50


def pages(count: int, size: int = PAGE) -> int:
    """Calls to page through `count` items: at least one, even for none."""
    return max(1, math.ceil(count / size))


def batches(count: int, size: int = PAGE) -> int:
    """Calls to send `count` items in batches: none for none."""
    return math.ceil(count / size)


def resource_count(account: Plan, resource_type: str) -> int:
    return {
        CODEBUILD_PROJECT: len(account.projects),
        CODEBUILD_REPORT_GROUP: len(account.report_groups),
        CODEPIPELINE_PIPELINE: len(account.pipelines),
    }[resource_type]


def iam_minimum(account: Plan, role_names: set[str]) -> dict[str, int]:
    """IAM reads of the distinct roles `role_names` (some may not exist)."""
    existing = [account.roles[name] for name in sorted(role_names) if name in account.roles]
    customer = {policy for role in existing for policy in role.customer_managed}
    return {
        "iam.ListAttachedRolePolicies": len(role_names),
        "iam.ListRolePolicies": len(existing),
        "iam.GetRolePolicy": sum(len(role.inline) for role in existing),
        "iam.GetPolicy": len(customer),
        "iam.GetPolicyVersion": len(customer),
    }


def _pipeline_roles(account: Plan) -> set[str]:
    roles = {pipeline.role for pipeline in account.pipelines}
    roles |= {pipeline.action_role for pipeline in account.pipelines if pipeline.action_role}
    return roles


def _failure_alerting(account: Plan) -> dict[str, int]:
    matching_enabled = [name for name, (pattern, enabled) in account.event_rules.items() if pattern and enabled]
    return {
        "codestar-notifications.ListNotificationRules": pages(len(account.notification_rules)),
        "codestar-notifications.DescribeNotificationRule": len(account.notification_rules),
        "events.ListRules": pages(len(account.event_rules)),
        "events.ListTargetsByRule": len(matching_enabled),
        "cloudwatch.DescribeAlarms": pages(len(account.alarms)),
    }


def _rule_reads(rule_id: str, account: Plan, chunks: int) -> dict[str, int]:
    """What the rule itself must read beyond Config, when its sweep takes `chunks` chunks."""
    if rule_id in ("codebuild-project-not-public", "codebuild-project-webhook-filters-anchored"):
        return {"codebuild.BatchGetProjects": batches(len(account.projects))}
    if rule_id == "codebuild-project-no-plaintext-secrets":
        # Only projects whose recorded PLAINTEXT values are masked need a live read; the test bed's
        # recorder keeps CodeBuild values as they are, so none does.
        return {"codebuild.BatchGetProjects": 0}
    if rule_id == "codebuild-project-service-role-least-privilege":
        return iam_minimum(account, {project.role for project in account.projects})
    if rule_id == "codepipeline-service-role-least-privilege":
        return iam_minimum(account, _pipeline_roles(account))
    if rule_id == "codepipeline-build-isolation":
        return {"codebuild.BatchGetProjects": batches(len({p.build_project for p in account.pipelines}))}
    if rule_id == "codepipeline-failure-alerting":
        return _failure_alerting(account) if account.pipelines else {}
    if rule_id == "codepipeline-execution-anomalies":
        if not account.pipelines:
            return {}
        return {
            "codepipeline.ListPipelineExecutions": len(account.pipelines),
            "cloudtrail.LookupEvents": SENSITIVE_OPERATIONS * pages(0, LOOKUP_EVENTS_PAGE) * chunks,
        }
    if rule_id == "codebuild-project-build-anomalies":
        if not account.projects:
            return {}
        return {
            "codebuild.ListBuildsForProject": len(account.projects),
            "cloudtrail.LookupEvents": BUILD_OPERATIONS * pages(0, LOOKUP_EVENTS_PAGE) * chunks,
        }
    # codebuild-project-build-log-indicators is off without `scanLogs`: it reads nothing.
    return {}


def minimum_calls(rule: dict, account: Plan, prior_results: int, stale: int) -> dict[str, int]:
    """{operation: fewest calls} of one sweep of `rule` (a catalog entry) over the account, when
    Config holds `prior_results` COMPLIANT or NON_COMPLIANT results for it, `stale` of them for
    resources that are gone."""
    count = resource_count(account, rule["resourceType"])
    minimum = {
        "config.SelectResourceConfig": pages(count),
        "config.GetComplianceDetailsByConfigRule": pages(prior_results),
        "config.PutEvaluations": batches(count + stale),
    }
    chunks = pages(count, rule["sweepChunk"]) if rule.get("sweepChunk") else 1
    minimum.update(_rule_reads(rule["id"], account, chunks))
    return minimum
