"""AWS Config aggregators: SelectAggregateResourceConfig over the accounts and regions an
aggregator collects.

moto 5.2.5 stores aggregators (PutConfigurationAggregator, DescribeConfigurationAggregators) but
has no SelectAggregateResourceConfig. It is answered here, in AWS's documented shape (`Results`:
one JSON text per row, `QueryInfo.SelectFields`, `NextToken`; `Limit` at most 100), from the same
state the single-account reads use:

- the recorded types (CodeBuild projects and report groups, CodePipeline pipelines), built by
  `config_recorder` for each source account and region, following that region's recorder;
- `AWS::Config::ResourceCompliance`, one row per evaluated resource, built from the evaluations
  the rules put (`config`): `configuration.targetResourceId`, `targetResourceType`,
  `complianceType` (NON_COMPLIANT if any rule says so, else COMPLIANT if any, else NOT_APPLICABLE)
  and `configRuleList` [{configRuleName, complianceType}], as Config records it, only where the
  region's recorder records that type.

Emulated, and simplified: aggregation is immediate (AWS collects within hours); an organization
source covers the caller's organization (moto's Organizations: the management account and every
member), an account source its accounts; `AllAwsRegions` covers the regions where the emulator
holds anything for the account (the others would add no row). Two query forms are understood, the
ones pipesec sends: `SELECT <fields> WHERE resourceType = '<type>'`, and for compliance the same
with `AND configuration.configRuleList.configRuleName LIKE '<prefix>%'`. Any other expression is
rejected with InvalidExpressionException rather than answered wrongly.
"""

import json
import re
from typing import Any

from moto.codebuild.models import codebuild_backends
from moto.codepipeline.models import codepipeline_backends
from moto.config.models import config_backends
from moto.config.responses import ConfigResponse
from moto.organizations.models import organizations_backends
from moto.utilities.utils import get_partition

from testbed import config_items
from testbed.services import config_recorder
from testbed.services.common import STATE, error, ok, page_limit, paginate, request_params

RESOURCE_COMPLIANCE = "AWS::Config::ResourceCompliance"

_SELECT = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+WHERE\s+resourceType\s*=\s*'(?P<type>[^']+)'"
    r"(?:\s+AND\s+configuration\.configRuleList\.configRuleName\s+LIKE\s+'(?P<prefix>[^'%]*)%')?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def _aggregator(response: ConfigResponse, name: str) -> Any:
    aggregator = config_backends[response.current_account][response.region].config_aggregators.get(name)
    if aggregator is None:
        raise error(
            "NoSuchConfigurationAggregatorException",
            "The configuration aggregator does not exist. Check the configuration aggregator name and try again.",
        )
    return aggregator


def _organization_accounts(account: str, partition: str) -> list[str]:
    management = organizations_backends.master_accounts.get(account, (account, partition))[0]
    backend = organizations_backends[management][partition]
    if backend.org is None:
        raise error(
            "OrganizationAccessDeniedException",
            "This action can only be performed if you are a registered delegated administrator for AWS Config "
            "with permissions to call ListDelegatedAdministrators API.",
        )
    return sorted({management, *(member.id for member in backend.accounts)})


def _regions_with_state(account: str) -> set[str]:
    regions = {region for (owner, region) in STATE.evaluations if owner == account}
    for backends in (codebuild_backends, codepipeline_backends):
        for region, backend in backends[account].items():
            if getattr(backend, "codebuild_projects", None) or getattr(backend, "pipelines", None):
                regions.add(region)
    return regions


def _sources(response: ConfigResponse, aggregator: Any) -> list[tuple[str, str]]:
    """(account, region) pairs the aggregator collects."""
    partition = get_partition(response.region)
    pairs: set[tuple[str, str]] = set()
    if aggregator.organization_aggregation_source:
        source = aggregator.organization_aggregation_source
        for account in _organization_accounts(response.current_account, partition):
            regions = _regions_with_state(account) if source.all_aws_regions else set(source.aws_regions or [])
            pairs.update((account, region) for region in regions)
    for source in aggregator.account_aggregation_sources or []:
        for account in source.account_ids:
            regions = _regions_with_state(account) if source.all_aws_regions else set(source.aws_regions or [])
            pairs.update((account, region) for region in regions)
    return sorted(pairs)


def _compliance_rows(account: str, region: str, prefix: str) -> dict[str, dict]:
    """The region's ResourceCompliance rows by `<type>/<id>`, for resources a rule named `prefix…` evaluated."""
    if not config_recorder.records(account, region, RESOURCE_COMPLIANCE):
        return {}
    with STATE.lock:
        by_rule = {rule: dict(results) for rule, results in STATE.evaluations.get((account, region), {}).items()}
    by_resource: dict[tuple[str, str], list[dict]] = {}
    for rule_name, results in sorted(by_rule.items()):
        for key, result in results.items():
            by_resource.setdefault(key, []).append({"configRuleName": rule_name,
                                                    "complianceType": result["ComplianceType"]})
    rows = {}
    for (resource_type, resource_id), rules in by_resource.items():
        if not any(rule["configRuleName"].startswith(prefix) for rule in rules):
            continue
        verdicts = {rule["complianceType"] for rule in rules}
        overall = next(kind for kind in ("NON_COMPLIANT", "COMPLIANT", "NOT_APPLICABLE") if kind in verdicts)
        rows[f"{resource_type}/{resource_id}"] = {
            "accountId": account,
            "awsRegion": region,
            "resourceType": RESOURCE_COMPLIANCE,
            "resourceId": f"{resource_type}/{resource_id}",
            "configuration": {
                "targetResourceId": resource_id,
                "targetResourceType": resource_type,
                "complianceType": overall,
                "configRuleList": rules,
            },
        }
    return rows


def _rows(account: str, region: str, resource_type: str, prefix: str | None) -> list[tuple[list, Any]]:
    """(sort key, row builder) of one source's rows of the type."""
    if resource_type == RESOURCE_COMPLIANCE:
        rows = _compliance_rows(account, region, prefix or "")
        return [([account, region, key], (lambda row=row: row)) for key, row in sorted(rows.items())]
    if not config_recorder.records(account, region, resource_type):
        return []
    listing, build = config_recorder.RECORDERS[resource_type]
    resources = listing(account, region)
    return [
        ([account, region, resource_id],
         (lambda resource=resources[resource_id]: config_items.event_item_to_query_row(build(account, region, resource))))
        for resource_id in sorted(resources)
    ]


def select_aggregate_resource_config(self: ConfigResponse) -> tuple[int, dict, str]:
    params = request_params(self)
    aggregator = _aggregator(self, params.get("ConfigurationAggregatorName") or "")
    match = _SELECT.match(params.get("Expression") or "")
    supported = (RESOURCE_COMPLIANCE, *config_recorder.RECORDERS)
    if not match or match["type"] not in supported or (match["prefix"] is not None) != (match["type"] == RESOURCE_COMPLIANCE):
        raise error(
            "InvalidExpressionException",
            "The test bed only supports: SELECT <fields> WHERE resourceType = '<type>' for "
            + ", ".join(config_recorder.RECORDERS)
            + f", and for {RESOURCE_COMPLIANCE} with AND configuration.configRuleList.configRuleName LIKE '<prefix>%'",
        )
    fields = [field.strip() for field in match["fields"].split(",")]
    if any(not field or field == "*" for field in fields):
        raise error("InvalidExpressionException", "The test bed supports named fields only.")
    limit = page_limit(params.get("Limit"), config_recorder.DEFAULT_SELECT_LIMIT, "InvalidLimitException")
    keyed = [row for account, region in _sources(self, aggregator)
             for row in _rows(account, region, match["type"], match["prefix"])]
    page, next_token = paginate(keyed, lambda row: row[0], limit, params.get("NextToken"))
    body: dict[str, Any] = {
        "Results": [json.dumps(config_recorder.select_fields(build(), fields)) for _, build in page],
        "QueryInfo": {"SelectFields": [{"Name": field} for field in fields]},
    }
    if next_token:
        body["NextToken"] = next_token
    return ok(body)


def install() -> None:
    ConfigResponse.select_aggregate_resource_config = select_aggregate_resource_config
