"""The test bed's SelectAggregateResourceConfig (testbed/services/config_aggregator.py), through
boto3: AWS's answer shape, pagination across accounts, errors, and the ResourceCompliance rows."""

import datetime
import json

import pytest
from botocore.exceptions import ClientError

from conftest import REGION
from testbed import seed
from testbed.organization import MANAGEMENT_ACCOUNT, account_client_factory, create_organization
from testbed.tokens import mint_result_token

PIPELINES = "SELECT accountId, awsRegion, resourceId, configuration.pipeline.name " \
            "WHERE resourceType = 'AWS::CodePipeline::Pipeline'"
COMPLIANCE = "SELECT accountId, configuration.targetResourceId, configuration.configRuleList " \
             "WHERE resourceType = 'AWS::Config::ResourceCompliance' " \
             "AND configuration.configRuleList.configRuleName LIKE 'pipesec-%'"


@pytest.fixture
def organization(aws, emulator):
    members = create_organization(aws("organizations"), members=2)
    for index, account in enumerate(members):
        client = account_client_factory(aws("sts"), emulator.url, REGION, account)
        role = seed.create_pipeline_role(client("iam"))["Arn"]
        for name in ("a", "b"):
            seed.create_pipeline(client("codepipeline"), f"{name}{index}", role)
        client("config").put_evaluations(ResultToken=mint_result_token("pipesec-codepipeline-security-scan-stage"),
                                         Evaluations=[{"ComplianceResourceType": "AWS::CodePipeline::Pipeline",
                                                       "ComplianceResourceId": f"a{index}",
                                                       "ComplianceType": "NON_COMPLIANT",
                                                       "OrderingTimestamp": datetime.datetime.now(datetime.UTC)}])
    aws("config").put_configuration_aggregator(
        ConfigurationAggregatorName="org",
        OrganizationAggregationSource={"RoleArn": f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/a", "AllAwsRegions": True})
    return members


def select_all(config, expression: str, limit: int) -> list[dict]:
    rows, token = [], None
    while True:
        page = config.select_aggregate_resource_config(ConfigurationAggregatorName="org", Expression=expression,
                                                       Limit=limit, **({"NextToken": token} if token else {}))
        assert [field["Name"] for field in page["QueryInfo"]["SelectFields"]][0] == "accountId"
        assert len(page["Results"]) <= limit
        rows.extend(map(json.loads, page["Results"]))
        token = page.get("NextToken")
        if not token:
            return rows


def test_pages_cover_every_account_once(aws, organization):
    rows = select_all(aws("config"), PIPELINES, limit=1)
    assert sorted((row["accountId"], row["resourceId"]) for row in rows) == sorted(
        (account, f"{name}{index}") for index, account in enumerate(organization) for name in ("a", "b"))
    assert all(row["awsRegion"] == REGION and row["configuration"]["pipeline"]["name"] == row["resourceId"]
               for row in rows)


def test_resource_compliance_rows_list_each_rules_verdict(aws, organization):
    rows = select_all(aws("config"), COMPLIANCE, limit=100)
    assert sorted((row["accountId"], row["configuration"]["targetResourceId"]) for row in rows) == sorted(
        (account, f"a{index}") for index, account in enumerate(organization))
    assert all(row["configuration"]["configRuleList"] == [
        {"configRuleName": "pipesec-codepipeline-security-scan-stage", "complianceType": "NON_COMPLIANT"}]
        for row in rows)


@pytest.mark.parametrize(("name", "expression", "code"), [
    ("nope", PIPELINES, "NoSuchConfigurationAggregatorException"),
    ("org", "SELECT * WHERE resourceType = 'AWS::CodePipeline::Pipeline'", "InvalidExpressionException"),
    ("org", "SELECT resourceId WHERE resourceType = 'AWS::Config::ResourceCompliance'", "InvalidExpressionException"),
])
def test_errors_are_awss(aws, organization, name, expression, code):
    with pytest.raises(ClientError) as raised:
        aws("config").select_aggregate_resource_config(ConfigurationAggregatorName=name, Expression=expression)
    assert raised.value.response["Error"]["Code"] == code
