"""The pre-deployment gate end to end: cloudformation/hook.yaml deployed onto the emulator, and the real
pipesec-hook binary driven through the Lambda Runtime API with requests in the shape the CloudFormation
Hooks documentation gives, pointed at the emulator for its live reads.

What the emulator cannot exercise (moto has no CloudFormation hooks; testbed/stack.py checks the
LambdaHook's properties and the function and role it names, and records it): activating the hook
type, CloudFormation invoking the function through the execution role, CloudFormation applying
FailureMode (WARN lets a FAILED resource be provisioned, FAIL stops the operation) and its 30 second
budget. The requests below are what CloudFormation would send; primitive property values are sent as
strings, as CloudFormation passes them to hooks."""

import json
import subprocess
from pathlib import Path

import pytest

from deploy import cfn
from deploy import hook as hook_template
from testbed import seed
from testbed import stack as testbed_stack
from testbed.stack import ACCOUNT_ID, REGION, deploy

from conftest import BIN_DIR

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "cli" / "fixtures" / "templates"
FUNCTION = "pipesec-hook"
GATED_TYPES = set(hook_template.TARGET_TYPES)
AFTER_DEPLOYMENT = "AWS Config evaluates it after deployment"
# A made-up secret: never in a response or a log line.
CANARY_VALUE = "ghp_CanaryHookE2eToken0123456789abcdefAB"


# --- requests --------------------------------------------------------------------------------


def stringified(value):
    """Booleans and numbers as the strings CloudFormation passes a hook."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [stringified(item) for item in value]
    if isinstance(value, dict):
        return {key: stringified(item) for key, item in value.items()}
    return value


def request(resource_type: str, logical_id: str, properties: dict, action: str = "CREATE",
            token: str = "6b1c0e52-7f0a-4d8e-9b3c-1a2b3c4d5e6f") -> dict:
    """A resource-operation request, as the Hooks user guide documents it."""
    return {
        "clientRequestToken": token,
        "awsAccountId": ACCOUNT_ID,
        "stackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/pipelines/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
        "changeSetId": None,
        "hookTypeName": "Pipesec::Pipeline::Gate",
        "hookTypeVersion": "00000001",
        "hookModel": {"LambdaFunction": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{FUNCTION}"},
        "actionInvocationPoint": f"{action}_PRE_PROVISION",
        "requestData": {
            "targetName": resource_type,
            "targetType": resource_type,
            "targetLogicalId": logical_id,
            "targetModel": {"resourceProperties": stringified(properties), "previousResourceProperties": None},
        },
        "requestContext": {"invocation": 1, "callbackContext": None},
    }


# --- a fixture template with every value known -----------------------------------------------


class Resolved:
    """A fixture template's resources with intrinsic functions resolved as CloudFormation would at
    deployment: parameter defaults, conditions, `!Sub`, and roles created on the emulator so that
    `!GetAtt Role.Arn` is a role the hook can read. Only what the fixtures use is supported."""

    def __init__(self, path: Path, aws):
        self.template = cfn.load(path.read_text())
        parameters = self.template.get("Parameters", {})
        self.values = {"AWS::AccountId": ACCOUNT_ID, "AWS::Region": REGION, "AWS::StackName": "pipelines"}
        for name, declaration in parameters.items():
            default = declaration["Default"]
            self.values[name] = default.split(",") if declaration["Type"].startswith("List<") else default
        self.arns = {}
        resources = self.template["Resources"]
        for logical_id, resource in resources.items():
            if resource["Type"] == "AWS::IAM::Role":
                role = aws("iam").create_role(
                    RoleName=logical_id,
                    AssumeRolePolicyDocument=json.dumps(resource["Properties"]["AssumeRolePolicyDocument"]))
                self.values[logical_id], self.arns[logical_id] = logical_id, role["Role"]["Arn"]
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::IAM::Role":
                name = resource.get("Properties", {}).get("Name")
                self.values[logical_id] = self.resolve(name) if name else logical_id
        self.conditions = {name: self.resolve(body) for name, body in self.template.get("Conditions", {}).items()}
        self.resources = {logical_id: (resource["Type"], self.resolve(resource.get("Properties", {})))
                          for logical_id, resource in resources.items() if resource["Type"] in GATED_TYPES}

    def resolve(self, value):
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), = value.items()
            if key == "Ref":
                return self.values[argument]
            if key == "Fn::GetAtt":
                return self.arns[argument[0]]
            if key == "Fn::Sub":
                text = argument
                for name, known in self.values.items():
                    text = text.replace("${" + name + "}", str(known))
                assert "${" not in text, text
                return text
            if key == "Fn::Equals":
                return self.resolve(argument[0]) == self.resolve(argument[1])
            if key == "Fn::If":
                return self.resolve(argument[1] if self.conditions[argument[0]] else argument[2])
            assert not key.startswith("Fn::"), key
        return {key: self.resolve(item) for key, item in value.items()}

    def as_template(self) -> dict:
        """The same resources with literal values: nothing left unknown for scan-template."""
        return {"Resources": {logical_id: {"Type": kind, "Properties": properties}
                              for logical_id, (kind, properties) in self.resources.items()}}


def camel(value):
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [camel(item) for item in value]
    return value


def provision(aws, kind: str, properties: dict) -> None:
    """What CloudFormation does once the hook lets a project through: creates it (the pipelines'
    build-isolation rule reads the projects they build with, live)."""
    if kind != "AWS::CodeBuild::Project":
        return
    wanted = ("Name", "ServiceRole", "Source", "Artifacts", "Environment", "VpcConfig", "EncryptionKey", "LogsConfig")
    project = camel({key: value for key, value in properties.items() if key in wanted})
    project["source"]["buildspec"] = project["source"].pop("buildSpec", None)
    aws("codebuild").create_project(**project)


def scan_template(path: Path) -> dict[tuple[str, str], dict]:
    """`pipesec scan-template --format json` results by (logical id, rule)."""
    run = subprocess.run([str(BIN_DIR / "pipesec"), "scan-template", "--format", "json", "--fail-on", "none",
                          "--region", REGION, str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return {(result["resourceId"], result["rule"]): result for result in json.loads(run.stdout)["results"]}


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def hook(rule):
    """The hook binary as a Lambda function: `hook(FAIL_ON_SEVERITY="CRITICAL")`."""
    return lambda **env: rule(FUNCTION, **env)


def answer(function, event) -> dict:
    result = function.invoke(event)
    assert result.ok, f"{result.error_type}: {result.error_message}"
    return result.payload


def all_logs(function) -> str:
    """Everything the function wrote: stopped, and its output drained to the end."""
    function.stop()
    function._drain_thread.join(timeout=5)  # the harness has no public wait for it
    return "\n".join(function.logs)


def annotations(response: dict) -> dict[str, dict]:
    return {annotation["annotationName"]: annotation for annotation in response.get("annotations", [])}


# --- the template ----------------------------------------------------------------------------


def test_template_deploys_with_least_privilege_roles_and_the_documented_hook(aws, catalog):
    template = cfn.load((REPO / "cloudformation/hook.yaml").read_text())
    deployed = deploy(template, aws, {"CodeBucket": "pipesec-artifacts"})
    function = aws("lambda").get_function(FunctionName=FUNCTION)["Configuration"]
    assert (function["Runtime"], function["Architectures"], function["Timeout"], function["MemorySize"]) == (
        "provided.al2023", ["arm64"], 25, 512)
    assert function["Environment"]["Variables"] == {"FAIL_ON_SEVERITY": "HIGH", "RULE_PARAMETERS": "{}"}

    iam = aws("iam")
    role_name = function["Role"].rsplit("/", 1)[1]
    [policy] = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy)["PolicyDocument"]
    actions = {action for statement in document["Statement"] for action in statement["Action"]}
    assert actions == {*hook_template.live_reads(catalog), "logs:CreateLogStream", "logs:PutLogEvents"}
    assert not any(action.split(":")[1].startswith(("Put", "Update", "Create", "Delete")) for action in actions
                   if not action.startswith("logs:")), "read-only"

    execution_role = deployed.resources["HookExecutionRole"].ref
    trust = iam.get_role(RoleName=execution_role)["Role"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "hooks.cloudformation.amazonaws.com"},
                      "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}}]
    [invoke_policy] = iam.list_role_policies(RoleName=execution_role)["PolicyNames"]
    invoke = iam.get_role_policy(RoleName=execution_role, PolicyName=invoke_policy)["PolicyDocument"]["Statement"]
    assert [(s["Action"], s["Resource"]) for s in invoke] == [(["lambda:InvokeFunction"], function["FunctionArn"])]

    hook = testbed_stack.LAMBDA_HOOKS[deployed.outputs["HookArn"]]
    assert hook["FailureMode"] == "WARN", "roll-out starts with WARN"
    assert hook["TargetOperations"] == ["RESOURCE", "CLOUD_CONTROL"]
    assert hook["TargetFilters"] == {"TargetNames": hook_template.TARGET_TYPES, "Actions": ["CREATE", "UPDATE"],
                                     "InvocationPoints": ["PRE_PROVISION"]}
    assert hook["LambdaFunction"] == function["FunctionArn"]


def test_failure_mode_and_threshold_are_parameters(aws):
    template = cfn.load((REPO / "cloudformation/hook.yaml").read_text())
    strict = deploy(template, aws, {"CodeBucket": "b", "FailureMode": "FAIL", "FailOnSeverity": "CRITICAL",
                                    "HookAlias": "Pipesec::Pipeline::Strict"})
    assert testbed_stack.LAMBDA_HOOKS[strict.outputs["HookArn"]]["FailureMode"] == "FAIL"
    function = aws("lambda").get_function(FunctionName=FUNCTION)["Configuration"]
    assert function["Environment"]["Variables"]["FAIL_ON_SEVERITY"] == "CRITICAL"
    with pytest.raises(ValueError, match="not one of"):
        deploy(template, aws, {"CodeBucket": "b", "FailureMode": "BLOCK"}, stack_name="invalid")


def test_the_role_reads_what_the_rules_the_hook_runs_live_read(hook, catalog):
    """deploy/hook.py and the binary agree on which rules are left to AWS Config."""
    function = hook()
    skipped = set()
    for kind, properties in [("AWS::CodeBuild::Project", {"Name": "p"}), ("AWS::CodeBuild::ReportGroup", {}),
                             ("AWS::CodePipeline::Pipeline", {"Name": "p", "Stages": []})]:
        for name, annotation in annotations(answer(function, request(kind, "X", properties))).items():
            if AFTER_DEPLOYMENT in annotation["statusMessage"]:
                skipped.add(name)
    gated = {rule.id for rule in hook_template.gated_rules(catalog)}
    assert skipped == {rule.id for rule in catalog.rules} - gated
    assert skipped, "the activity rules are left to AWS Config"


# --- the fixture pipelines: parity with scan-template ----------------------------------------


@pytest.mark.parametrize("fixture", ["bad-pipeline.yaml", "good-pipeline.yaml"])
def test_fixture_pipelines_get_the_verdicts_of_scan_template(fixture, hook, aws, emulator, tmp_path, catalog):
    resolved = Resolved(TEMPLATES / fixture, aws)
    literal = tmp_path / fixture
    literal.write_text(json.dumps(resolved.as_template()))
    scanned = scan_template(literal)
    # The artifact buckets the pipelines name exist before them (another stack made them): secured
    # for the good pipeline, as S3 creates them for the bad one.
    for kind, properties in resolved.resources.values():
        if kind == "AWS::CodePipeline::Pipeline":
            stores = [properties["ArtifactStore"]] if "ArtifactStore" in properties else [
                entry["ArtifactStore"] for entry in properties["ArtifactStores"]]
            for store in stores:
                seed.create_artifact_bucket(aws("s3"), store["Location"], secured=fixture == "good-pipeline.yaml")
    function = hook()
    emulator.reset_calls()
    stopped = []
    for logical_id, (kind, properties) in resolved.resources.items():
        response = answer(function, request(kind, logical_id, properties))
        assert response["clientRequestToken"] == "6b1c0e52-7f0a-4d8e-9b3c-1a2b3c4d5e6f"
        by_rule = annotations(response)
        rules = [rule for rule in catalog.rules if rule.resource_type == kind]
        assert set(by_rule) == {rule.id for rule in rules}, "one annotation per rule"
        for rule in rules:
            annotation, result = by_rule[rule.id], scanned[(logical_id, rule.id)]
            assert annotation["severityLevel"] == rule.severity
            assert annotation["remediationMessage"] == rule.remediation
            assert annotation["remediationLink"].endswith(f"README.md#{rule.id}")
            if "needs live reads" in (result["annotation"] or ""):
                # scan-template does not read; the hook reads with its own role, or says why not.
                assert annotation["status"] in ("PASSED", "FAILED", "SKIPPED"), annotation
            elif AFTER_DEPLOYMENT in annotation["statusMessage"]:
                assert result["compliance"] != "COMPLIANT" or rule.reads, (rule.id, result)
            else:
                expected = {"COMPLIANT": "PASSED", "NON_COMPLIANT": "FAILED", "NOT_APPLICABLE": "SKIPPED"}
                assert annotation["status"] == expected[result["compliance"]], (logical_id, rule.id, result, annotation)
                assert annotation["statusMessage"] == (result["annotation"] or ""), (logical_id, rule.id)
        failing_high = [rule.id for rule in rules
                        if by_rule[rule.id]["status"] == "FAILED" and rule.severity in ("HIGH", "CRITICAL")]
        if failing_high:
            stopped.append(logical_id)
            assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "NonCompliant")
            assert response["message"].startswith(f"pipesec stopped {kind} {logical_id}: ")
            assert all(rule_id in response["message"] for rule_id in failing_high)
            assert len(response["message"]) <= 4096
        else:
            assert response["hookStatus"] == "SUCCESS" and "errorCode" not in response, response
        compared = {rule.id for rule in rules
                    if not (scanned[(logical_id, rule.id)]["annotation"] or "").startswith("needs live reads")}
        assert {rule.id for rule in rules if not rule.reads} <= compared, "every offline rule compared one to one"
        provision(aws, kind, properties)
    # The service roles and the pipelines' build projects were read live, with the function's
    # credentials, from the emulator.
    calls = emulator.calls()
    assert calls.get("iam.ListRolePolicies", 0) > 0 and calls.get("codebuild.BatchGetProjects", 0) > 0, calls
    if fixture == "bad-pipeline.yaml":
        # The images pipeline builds with the privileged project outside a VPC: read live, it fails.
        # Both pipelines also keep their artifacts in buckets as S3 creates them (live read).
        assert set(stopped) == {"PaymentsBuild", "ImageBuilder", "ImagesPipeline", "PaymentsPipeline"}
    else:
        assert stopped == []


# --- the WARN/FAIL switch, opt-out, DELETE, bad requests, secrets ----------------------------


def privileged_project() -> dict:
    return {
        "Name": "docker-image-builder",
        "ServiceRole": f"arn:aws:iam::{ACCOUNT_ID}:role/missing-build-role",
        "Source": {"Type": "CODEPIPELINE", "BuildSpec": "version: 0.2"},
        "Artifacts": {"Type": "CODEPIPELINE"},
        "Environment": {"Type": "LINUX_CONTAINER", "ComputeType": "BUILD_GENERAL1_SMALL",
                        "Image": "aws/codebuild/standard:7.0", "PrivilegedMode": True,
                        "EnvironmentVariables": [{"Name": "GITHUB_TOKEN", "Value": CANARY_VALUE}]},
    }


def test_fail_on_severity_decides_what_fails_the_hook(hook):
    event = request("AWS::CodeBuild::Project", "ImageBuilder", privileged_project())
    default = answer(hook(), event)
    assert (default["hookStatus"], default["errorCode"]) == ("FAILED", "NonCompliant")
    assert "codebuild-project-no-plaintext-secrets (CRITICAL)" in default["message"]
    assert "codebuild-project-privileged-mode-disabled (HIGH)" in default["message"]
    # A role that does not exist yet cannot be judged: SKIPPED, never PASSED.
    role = annotations(default)["codebuild-project-service-role-least-privilege"]
    assert role["status"] == "SKIPPED" and "missing-build-role" in role["statusMessage"], role

    critical_only = answer(hook(FAIL_ON_SEVERITY="CRITICAL"), event)
    assert critical_only["hookStatus"] == "FAILED"
    assert "codebuild-project-privileged-mode-disabled" not in critical_only["message"].split(" failed at or above")[0]

    project = privileged_project()
    project["Environment"]["EnvironmentVariables"] = []
    passing = answer(hook(FAIL_ON_SEVERITY="CRITICAL"), request("AWS::CodeBuild::Project", "ImageBuilder", project))
    assert passing["hookStatus"] == "SUCCESS", passing["message"]
    assert annotations(passing)["codebuild-project-privileged-mode-disabled"]["status"] == "FAILED"


def test_an_opt_out_tag_is_reported_as_a_warning(hook):
    project = privileged_project()
    project["Tags"] = [{"Key": "pipesec:hook-opt-out", "Value": "base images need Docker-in-Docker (SEC-1234)"}]
    response = answer(hook(), request("AWS::CodeBuild::Project", "ImageBuilder", project))
    assert response["hookStatus"] == "SUCCESS" and "errorCode" not in response
    assert response["message"].startswith("WARN pipesec: AWS::CodeBuild::Project ImageBuilder is opted out")
    assert "SEC-1234" in response["message"] and "codebuild-project-privileged-mode-disabled" in response["message"]
    assert annotations(response)["pipesec-hook-opt-out"]["status"] == "SKIPPED"
    assert annotations(response)["codebuild-project-privileged-mode-disabled"]["status"] == "FAILED"


def test_delete_is_never_gated(hook):
    response = answer(hook(), request("AWS::CodeBuild::Project", "ImageBuilder", privileged_project(), action="DELETE"))
    assert response == {"hookStatus": "SUCCESS", "message": "pipesec: deleting ImageBuilder is not gated",
                        "clientRequestToken": "6b1c0e52-7f0a-4d8e-9b3c-1a2b3c4d5e6f"}


@pytest.mark.parametrize("event, expected", [
    ({"clientRequestToken": "t1"}, "missing field `awsAccountId`"),
    ({**request("AWS::CodeBuild::Project", "P", {}), "actionInvocationPoint": CANARY_VALUE},
     "field `actionInvocationPoint`: unknown variant, expected one of `CREATE_PRE_PROVISION`"),
    ({**request("AWS::CodeBuild::Project", "P", {}), "requestData": CANARY_VALUE},
     "field `requestData`: expected struct"),
])
def test_an_unreadable_request_is_an_internal_failure(event, expected, hook):
    function = hook()
    response = answer(function, event)
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "InternalFailure")
    assert expected in response["message"], response["message"]
    assert CANARY_VALUE not in json.dumps(response) and CANARY_VALUE not in all_logs(function)


def test_no_secret_in_the_response_or_the_logs(hook):
    """A plaintext secret in the resource's environment variables appears in no response and no
    log line, though the rule that finds it names the variable."""
    function = hook()
    response = answer(function, request("AWS::CodeBuild::Project", "ImageBuilder", privileged_project()))
    secrets = annotations(response)["codebuild-project-no-plaintext-secrets"]
    assert secrets["status"] == "FAILED" and "GITHUB_TOKEN" in secrets["statusMessage"]
    logs = all_logs(function)
    assert '"message":"answered"' in logs and '"logical_id":"ImageBuilder"' in logs, "the function logs each answer"
    text = json.dumps(response) + logs
    assert CANARY_VALUE not in text and "CanaryHookE2e" not in text
