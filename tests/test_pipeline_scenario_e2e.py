"""The pipeline rule set on two pipelines: a pipeline with a GitHub version 1 source, no approval, a
plaintext token in a CodeBuild action's EnvironmentVariables, an administrator service role and no
customer managed key is NON_COMPLIANT on exactly the rules that cover those faults; a well-built
pipeline is COMPLIANT on every pipeline rule. Every verdict is read back through the emulator's
Config API."""

import json

from testbed import events, seed
from testbed.config_items import CODEPIPELINE_PIPELINE
from testbed.demo_account import KEY_ARN, alert_on_failures, well_built_stages
from testbed.results import compliance

PIPELINE_RULES = [
    "codepipeline-artifacts-cmk-encrypted", "codepipeline-source-authenticated", "codepipeline-approval-before-deploy",
    "codepipeline-approval-notifications", "codepipeline-security-scan-stage", "codepipeline-no-plaintext-secrets",
    "codepipeline-service-role-least-privilege", "codepipeline-build-isolation", "codepipeline-deployment-count-check",
    "codepipeline-region-fanout-check", "codepipeline-failure-alerting", "codepipeline-execution-anomalies",
]
# The faults of the bad pipeline, and the rules that cover them.
EXPECTED_FAULTS = {
    "codepipeline-source-authenticated",  # GitHub version 1 with an OAuth token
    "codepipeline-approval-before-deploy",  # no manual approval
    "codepipeline-no-plaintext-secrets",  # a token in the build action's PLAINTEXT variables
    "codepipeline-service-role-least-privilege",  # an administrator pipeline role
    "codepipeline-artifacts-cmk-encrypted",  # the AWS managed key
}
CANARY = "ghp_ScenarioCanary0123456789abcdefABCDEFGH"


def bad_stages(name, project):
    """Everything but the five faults done right: a scan before deploying, one deploy."""
    source, build, test, _approval, deploy = well_built_stages(name, project)
    source["actions"][0] = {
        "name": "GitHub", "runOrder": 1, "outputArtifacts": [{"name": "SourceOutput"}],
        "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
        "configuration": {"Owner": "example", "Repo": name, "Branch": "main", "OAuthToken": "scenario-oauth-token"},
    }
    build["actions"][0]["configuration"]["EnvironmentVariables"] = json.dumps(
        [{"name": "STAGE", "value": "prod", "type": "PLAINTEXT"}, {"name": "GITHUB_TOKEN", "value": CANARY, "type": "PLAINTEXT"}])
    return [source, build, test, deploy]


def test_bad_pipeline_fails_exactly_its_faults_and_good_pipeline_passes_everything(rule, aws):
    iam, codebuild, codepipeline = aws("iam"), aws("codebuild"), aws("codepipeline")
    project_role = seed.create_role(iam)["Arn"]
    good_role = seed.create_pipeline_role(iam, "good-pipeline-role")["Arn"]
    admin_role = seed.create_pipeline_role(iam, "admin-pipeline-role")["Arn"]
    iam.put_role_policy(RoleName="admin-pipeline-role", PolicyName="admin", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Sid": "Admin", "Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    for name in ("good", "bad"):
        seed.create_project(codebuild, f"{name}-build", project_role)
        alert_on_failures(lambda service: aws(service), name)
    store = {"type": "S3", "location": "good-artifacts", "encryptionKey": {"id": KEY_ARN, "type": "KMS"}}
    seed.create_pipeline(codepipeline, "good", good_role, stages=well_built_stages("good", "good-build"), artifact_store=store)
    seed.create_pipeline(codepipeline, "bad", admin_role, stages=bad_stages("bad", "bad-build"))
    config = aws("config")
    items = {name: seed.recorded_item(config, name, CODEPIPELINE_PIPELINE) for name in ("good", "bad")}

    verdicts = {}
    for rule_id in PIPELINE_RULES:
        function = rule(rule_id)
        for item in items.values():
            result = function.invoke(events.change_event(item, rule_id))
            assert result.ok, f"{rule_id}: {result.error_type}: {result.error_message}"
            assert CANARY not in "\n".join(function.logs)
        found = compliance(config, rule_id)
        for name in items:
            verdicts[(rule_id, name)] = found[name]

    good = {rule_id: verdicts[(rule_id, "good")] for rule_id in PIPELINE_RULES}
    assert all(state == "COMPLIANT" for state, _ in good.values()), good
    failing = {rule_id for rule_id in PIPELINE_RULES if verdicts[(rule_id, "bad")][0] == "NON_COMPLIANT"}
    assert failing == EXPECTED_FAULTS, {r: verdicts[(r, "bad")] for r in PIPELINE_RULES}
    assert all(verdicts[(r, "bad")][0] == "COMPLIANT" for r in set(PIPELINE_RULES) - EXPECTED_FAULTS)
    assert all(CANARY not in annotation for _, annotation in verdicts.values())
