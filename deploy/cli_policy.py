"""deploy/cli-read-only-policy.json: the IAM identity policy for whoever runs `pipesec evaluate`
against an account. Read-only, one statement per need, so a user grants what their `--source`
calls:

- `ConfigSource`: `--source config` (and `auto`): what the region's configuration recorder records
  (DescribeConfigurationRecorders, DescribeConfigurationRecorderStatus) and Config's inventory
  (SelectResourceConfig);
- `ServicesSource`: `--source services` (and `auto`, for the types Config does not record):
  CodeBuild's projects and report groups and CodePipeline's pipelines, listed then read;
- `RuleLiveReads`: every source: the reads the rules' own `gather` steps make (the catalog's
  `reads`), e.g. BatchGetProjects for visibility and webhooks, IAM for roles;
- `AggregatorSource` and `AssumeTheReadRoleInTheOrganization`: `--aggregator` (the organization's
  inventory) and `--assume-role pipesec-cli-read` (the read role of cli-read-role.yaml in each
  account, only in the caller's own organization: `aws:ResourceOrgID`). Not needed otherwise.

Every resource (`*`): an audit reads the whole account, and most of these actions (the List and
Describe ones, SelectResourceConfig, LookupEvents) accept no other resource. The source actions
are the CLI's (`cli/src/sources.rs`, `CONFIG_ACTIONS` and `SERVICE_ACTIONS`; a unit test there
compares them with this file), the rule reads come from the catalog, and the end-to-end tests check
that every operation the CLI calls against the emulator is in this document.
"""

import json

from deploy import cli_read_role
from deploy.catalog import Catalog

PATH = "deploy/cli-read-only-policy.json"

CONFIG_SOURCE = (
    "config:DescribeConfigurationRecorders",
    "config:DescribeConfigurationRecorderStatus",
    "config:SelectResourceConfig",
)
# `--aggregator`: the organization's inventory through the aggregator.
AGGREGATOR_SOURCE = ("config:SelectAggregateResourceConfig",)
SERVICES_SOURCE = (
    "codebuild:ListProjects",
    "codebuild:BatchGetProjects",
    "codebuild:ListReportGroups",
    "codebuild:BatchGetReportGroups",
    "codepipeline:ListPipelines",
    "codepipeline:GetPipeline",
)


def document(catalog: Catalog) -> dict:
    rule_reads = sorted({action for rule in catalog.rules for action in rule.reads})
    statement = lambda sid, actions: {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": "*"}
    return {
        "Version": "2012-10-17",
        "Statement": [
            statement("ConfigSource", CONFIG_SOURCE),
            statement("ServicesSource", SERVICES_SOURCE),
            statement("RuleLiveReads", rule_reads),
            statement("AggregatorSource", AGGREGATOR_SOURCE),
            {
                "Sid": "AssumeTheReadRoleInTheOrganization",
                "Effect": "Allow",
                "Action": ["sts:AssumeRole"],
                "Resource": f"arn:aws:iam::*:role/{cli_read_role.ROLE_NAME}",
                "Condition": {"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}},
            },
        ],
    }


def text(catalog: Catalog) -> str:
    return json.dumps(document(catalog), indent=2) + "\n"


def actions(policy: dict, *sids: str) -> set[str]:
    """The actions of the statements named (all statements when none is named)."""
    return {action for statement in policy["Statement"] if not sids or statement["Sid"] in sids
            for action in statement["Action"]}
