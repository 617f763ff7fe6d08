"""The account the sweep benchmark evaluates: N CodeBuild projects over 50 service roles, N/4
pipelines, a few report groups and the monitoring a pipeline pack looks at.

`plan(n)` describes the account in plain data (what exists, who uses which role, which settings
are wrong), `seed(plan, clients)` creates it in the emulator, and the benchmark derives each
rule's minimum API calls from the plan, never from the rules' code.

Resources are mixed by index (`i % k`), so every size holds compliant and non-compliant ones in
about the same shares and reruns seed the same account. Values that look like secrets are made up;
nothing may print them.
"""

import hashlib
import json
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from testbed import seed as seeding

ACCOUNT = "123456789012"
REGION = "us-east-1"
SERVICE_ROLES = 50
PIPELINE_ROLES = 10
DEPLOY_ROLES = 5
# An action role the pipelines name that IAM does not have (deleted): read once, found missing.
MISSING_DEPLOY_ROLE = "pipeline-deploy-retired"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f5c4a7e-2b9d-4c61-8e3a-7d1b9f2c6a40"
INLINE_BUILDSPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - make test\n"
VPC = {"vpcId": "vpc-0a1b2c3d", "subnets": ["subnet-0a1b2c3d"], "securityGroupIds": ["sg-0a1b2c3d"]}
ALERT_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:pipeline-alerts"
APPROVAL_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:release-approvals"
# Threads that create resources: the emulator serves them concurrently, and the machine is small.
SEED_THREADS = 4

AWS_MANAGED = {
    "s3-read": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    "logs-full": "arn:aws:iam::aws:policy/CloudWatchLogsFullAccess",
    "admin": "arn:aws:iam::aws:policy/AdministratorAccess",
    "power-user": "arn:aws:iam::aws:policy/PowerUserAccess",
    "ecr-read": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
}


def _document(*statements) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(actions, resources) -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


# Policy documents by name: scoped ones a least-privilege rule accepts and broad ones it flags.
DOCUMENTS = {
    "logs": _document(_allow(["logs:CreateLogStream", "logs:PutLogEvents"],
                             f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/codebuild/*")),
    "artifacts": _document(_allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::example-artifacts/*")),
    "ecr-token": _document(_allow("ecr:GetAuthorizationToken", "*")),
    "read-anywhere": _document(_allow(["s3:Get*", "ec2:Describe*"], "*")),
    "write-anywhere": _document(_allow(["s3:PutObject", "s3:DeleteObject"], "*")),
    "everything": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}},
    "not-action": _document({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
    "pass-any-role": _document(_allow("iam:PassRole", "*")),
    "pipeline-scoped": _document(_allow(["codebuild:StartBuild", "codebuild:BatchGetBuilds"],
                                        f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/*")),
}
# Customer managed policies, shared between roles: each must be read once per invocation.
CUSTOMER_POLICIES = ("ci-artifacts", "ci-logs", "ci-ecr", "ci-inventory", "ci-broad-writer", "ci-everything",
                     "ci-pipeline", "ci-pass-role")
_CUSTOMER_DOCUMENTS = {"ci-artifacts": "artifacts", "ci-logs": "logs", "ci-ecr": "ecr-token",
                       "ci-inventory": "read-anywhere", "ci-broad-writer": "write-anywhere",
                       "ci-everything": "everything", "ci-pipeline": "pipeline-scoped", "ci-pass-role": "pass-any-role"}


@dataclass(frozen=True)
class Role:
    name: str
    trust: str  # "codebuild" or "codepipeline"
    aws_managed: tuple[str, ...]  # ARNs
    customer_managed: tuple[str, ...]  # policy names (CUSTOMER_POLICIES)
    inline: tuple[str, ...]  # DOCUMENTS names, used as the inline policy names too


@dataclass(frozen=True)
class Project:
    name: str
    role: str
    # CreateProject arguments beyond seeding.create_project's defaults
    privileged: bool
    variables: tuple[tuple[str, str, str], ...]
    overrides: dict
    public: bool
    webhook: list | None


@dataclass(frozen=True)
class Pipeline:
    name: str
    role: str
    build_project: str  # the CodeBuild action's ProjectName (may name a project that does not exist)
    action_role: str | None  # the deploy action's roleArn (role name), if any
    stages: list


@dataclass
class Plan:
    """What the benchmark account holds."""
    n: int
    roles: dict[str, Role] = field(default_factory=dict)
    projects: list[Project] = field(default_factory=list)
    pipelines: list[Pipeline] = field(default_factory=list)
    report_groups: dict[str, dict] = field(default_factory=dict)
    # Failure alerting: notification rules, EventBridge rules (name -> (pattern or None, enabled)), alarms.
    notification_rules: list[str] = field(default_factory=list)
    event_rules: dict[str, tuple[str | None, bool]] = field(default_factory=dict)
    alarms: list[str] = field(default_factory=list)


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def _random_text(seed: str, alphabet: str, length: int) -> str:
    """Random-looking text, the same for the same seed."""
    return "".join(alphabet[b % len(alphabet)] for b in hashlib.shake_256(seed.encode()).digest(length))


BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def fake_github_token(seed: str) -> str:
    """A made-up classic GitHub token in the real format: 30 random characters and their CRC32 in
    base62, which scanners that check the checksum (Prowler's Kingfisher) require."""
    body = _random_text(seed, BASE62, 30)
    checksum, digits = zlib.crc32(body.encode()), ""
    while checksum:
        checksum, digit = divmod(checksum, 62)
        digits = BASE62[digit] + digits
    return f"ghp_{body}{digits.rjust(6, '0')}"


def fake_aws_key_id(seed: str) -> str:
    """A made-up access key id in the real format (AKIA and 16 base32 characters)."""
    return "AKIA" + _random_text(seed, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)


def fake_aws_secret_key(seed: str) -> str:
    return _random_text(seed, BASE62 + "/+", 40)


def _service_role(k: int) -> Role:
    """Service role k of 50: a few inline and attached policies; about one in five over-privileged."""
    aws_managed = [AWS_MANAGED["s3-read"]]
    customer = ["ci-artifacts", "ci-logs"] if k % 2 == 0 else ["ci-ecr"]
    inline = ["logs", "artifacts"]
    if k % 10 == 3:
        aws_managed.append(AWS_MANAGED["admin"])
    elif k % 10 == 6:
        aws_managed.append(AWS_MANAGED["power-user"])
    elif k % 10 == 8:
        aws_managed.append(AWS_MANAGED["logs-full"])
    if k % 25 == 4:
        customer.append("ci-everything")
    if k % 12 == 5:
        inline.append("write-anywhere")
    if k % 17 == 2:
        inline.append("not-action")
    if k % 7 == 1:
        customer.append("ci-inventory")
    return Role(f"codebuild-service-{k:02d}", "codebuild", tuple(aws_managed), tuple(customer), tuple(inline))


def _pipeline_role(k: int) -> Role:
    customer = ["ci-pipeline"] + (["ci-pass-role"] if k % 4 == 1 else [])
    aws_managed = [AWS_MANAGED["admin"]] if k % 5 == 2 else [AWS_MANAGED["ecr-read"]]
    return Role(f"codepipeline-service-{k:02d}", "codepipeline", tuple(aws_managed), tuple(customer), ("artifacts",))


def _deploy_role(k: int) -> Role:
    inline = ("artifacts", "pass-any-role") if k == 0 else ("artifacts",)
    return Role(f"pipeline-deploy-{k}", "codepipeline", (), ("ci-broad-writer",) if k == 1 else (), inline)


def _project(i: int, service_roles: int = SERVICE_ROLES) -> Project:
    """Project i: mostly sound, with each kind of problem at its own rate."""
    name = f"build-{i:05d}"
    password = ("demo-Pa55-word-1", "PLAINTEXT") if i % 11 == 0 else (f"/prod/{name}/db", "PARAMETER_STORE")
    variables = [("STAGE", "prod", "PLAINTEXT"), ("DB_PASSWORD", *password)]
    if i % 13 == 0:
        variables.append(("GITHUB_TOKEN", fake_github_token(name), "PLAINTEXT"))
    if i % 17 == 0:
        variables.append(("MYSQL_ALLOW_EMPTY_PASSWORD", "yes", "PLAINTEXT"))
    if i % 19 == 0:  # an access key id in the clear; its secret too, or in Secrets Manager
        secret = (fake_aws_secret_key(name), "PLAINTEXT") if i % 38 == 0 else (f"ci/{name}/aws", "SECRETS_MANAGER")
        variables += [("AWS_ACCESS_KEY_ID", fake_aws_key_id(name), "PLAINTEXT"), ("AWS_SECRET_ACCESS_KEY", *secret)]
    buildspec = INLINE_BUILDSPEC if i % 3 == 0 else "buildspec.yml"
    source = {"type": "GITHUB", "location": f"https://github.com/example/{name}.git", "buildspec": buildspec}
    if i % 23 == 0:
        source = {"type": "BITBUCKET", "location": f"https://deploy:demo-S3cret-pw@bitbucket.org/example/{name}.git",
                  "buildspec": buildspec}
    elif i % 29 == 0:
        token = fake_github_token(name + "-source")
        source = {"type": "GITHUB", "location": f"https://{token}@github.com/example/{name}.git", "buildspec": buildspec}
    overrides = {"source": source}
    if i % 2 == 0:
        overrides["encryptionKey"] = KEY_ARN
    if i % 4 == 0 or i % 14 == 0:
        overrides["vpcConfig"] = VPC
    # What CodeBuild answers when a project does not say: CloudWatch Logs on, S3 logs off.
    overrides["logsConfig"] = {"cloudWatchLogs": {"status": "ENABLED"}, "s3Logs": {"status": "DISABLED"}}
    if i % 5 == 0:
        overrides["logsConfig"] = {"cloudWatchLogs": {"status": "DISABLED"}, "s3Logs": {"status": "DISABLED"}}
    elif i % 9 == 0:
        overrides["logsConfig"] = {"cloudWatchLogs": {"status": "DISABLED"},
                                   "s3Logs": {"status": "ENABLED", "location": "build-logs/x", "encryptionDisabled": True}}
    elif i % 9 == 1:
        overrides["logsConfig"] = {"cloudWatchLogs": {"status": "ENABLED", "groupName": "/ci/builds"},
                                   "s3Logs": {"status": "ENABLED", "location": "build-logs/y", "encryptionDisabled": False}}
    if i % 37 == 0:
        overrides["artifacts"] = {"type": "S3", "location": "build-artifacts", "encryptionDisabled": True}
    webhook = None
    if i % 43 == 0:
        webhook = [[{"type": "EVENT", "pattern": "PUSH"}, {"type": "HEAD_REF", "pattern": "refs/heads/main"}]]
    elif i % 47 == 0:
        webhook = [[{"type": "EVENT", "pattern": "PUSH"}, {"type": "HEAD_REF", "pattern": "^refs/heads/main$"}]]
    return Project(name, f"codebuild-service-{i % service_roles:02d}", privileged=i % 7 == 0,
                   variables=tuple(variables), overrides=overrides, public=i % 41 == 0, webhook=webhook)


def _stages(j: int, name: str, project: str, action_role: str | None) -> list:
    """Source -> Build -> [Test -> Approval] -> Deploy, varied by j."""
    source, build, deploy = seeding.default_pipeline_stages(name, project)
    if j % 10 == 0:  # GitHub version 1: an OAuth token in the source action
        source["actions"][0]["actionTypeId"] = {"category": "Source", "owner": "ThirdParty", "provider": "GitHub",
                                                "version": "1"}
        source["actions"][0]["configuration"] = {"Owner": "example", "Repo": name, "Branch": "main",
                                                 "OAuthToken": fake_github_token(name + "-oauth")}
    if j % 11 == 0:
        build["actions"][0]["configuration"]["EnvironmentVariables"] = json.dumps(
            [{"name": "API_TOKEN", "value": fake_github_token(name + "-env"), "type": "PLAINTEXT"}])
    if action_role:
        deploy["actions"][0]["roleArn"] = role_arn(action_role)
    if j % 13 == 0:  # the first deployment stage deploys twice
        second = json.loads(json.dumps(deploy["actions"][0]))
        second["name"], second["configuration"]["StackName"] = "DeployReplica", f"{name}-replica"
        deploy["actions"].append(second)
    stages = [source, build]
    if j % 3 == 0:
        scan = {"name": "SecurityScan", "runOrder": 1, "configuration": {"ProjectName": project},
                "actionTypeId": {"category": "Test", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "inputArtifacts": [{"name": "SourceOutput"}]}
        stages.append({"name": "Test", "actions": [scan]})
    if j % 3 == 0 or j % 6 == 1:
        approval = {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
        settings = {"NotificationArn": APPROVAL_TOPIC} if j % 3 == 0 else {}
        stages.append({"name": "Approval", "actions": [
            {"name": "Approve", "runOrder": 1, "configuration": settings, "actionTypeId": approval}]})
    stages.append(deploy)
    return stages


def _pipeline(j: int, n: int) -> Pipeline:
    name = f"pipeline-{j:05d}"
    # Projects 4j+1: never in a VPC, privileged one time in seven (codepipeline-build-isolation).
    project = f"retired-build-{j:05d}" if j % 53 == 0 else f"build-{(j * 4 + 1) % n:05d}"
    action_role = None
    if j % 50 == 0:
        action_role = MISSING_DEPLOY_ROLE
    elif j % 5 == 0:
        action_role = f"pipeline-deploy-{(j // 5) % DEPLOY_ROLES}"
    return Pipeline(name, f"codepipeline-service-{j % PIPELINE_ROLES:02d}", project, action_role,
                    _stages(j, name, project, action_role))


def failure_pattern(pipeline: str | None = None) -> str:
    detail = {"state": ["FAILED"], **({"pipeline": [pipeline]} if pipeline else {})}
    return json.dumps({"source": ["aws.codepipeline"], "detail-type": ["CodePipeline Pipeline Execution State Change"],
                       "detail": detail})


def plan(n: int, service_roles: int = SERVICE_ROLES, pipelines: int | None = None) -> Plan:
    """The account with `n` projects (at least 100) over `service_roles` service roles (50 unless
    said), `pipelines` pipelines (n/4 unless said)."""
    account = Plan(n)
    for role in ([_service_role(k) for k in range(service_roles)] + [_pipeline_role(k) for k in range(PIPELINE_ROLES)]
                 + [_deploy_role(k) for k in range(DEPLOY_ROLES)]):
        account.roles[role.name] = role
    account.projects = [_project(i, service_roles) for i in range(n)]
    account.pipelines = [_pipeline(j, n) for j in range(n // 4 if pipelines is None else pipelines)]
    account.report_groups = {
        "unit-tests": {"exportConfigType": "S3", "s3Destination": {"bucket": "build-reports", "encryptionDisabled": False,
                                                                   "encryptionKey": KEY_ARN}},
        "integration-tests": {"exportConfigType": "S3", "s3Destination": {"bucket": "build-reports",
                                                                          "encryptionDisabled": False}},
        "coverage": {"exportConfigType": "S3", "s3Destination": {"bucket": "build-reports", "encryptionDisabled": True}},
        "lint": {"exportConfigType": "S3", "s3Destination": {"bucket": "lint-reports", "encryptionDisabled": True}},
        "local-only": {"exportConfigType": "NO_EXPORT"},
    }
    names = [p.name for p in account.pipelines]
    account.notification_rules = names[1:3]
    account.event_rules = {
        f"{names[3]}-failures": (failure_pattern(names[3]), True),
        "all-failures-disabled": (failure_pattern(), False),
        "nightly": (None, True),
    }
    account.alarms = names[4:6]
    return account


# --- seeding ---------------------------------------------------------------------------------


def _create_role(iam, role: Role, customer_arns: dict[str, str]) -> None:
    create = seeding.create_role if role.trust == "codebuild" else seeding.create_pipeline_role
    create(iam, role.name)
    for arn in role.aws_managed:
        iam.attach_role_policy(RoleName=role.name, PolicyArn=arn)
    for policy in role.customer_managed:
        iam.attach_role_policy(RoleName=role.name, PolicyArn=customer_arns[policy])
    for document in role.inline:
        iam.put_role_policy(RoleName=role.name, PolicyName=document, PolicyDocument=json.dumps(DOCUMENTS[document]))


def _create_project(codebuild, project: Project) -> None:
    seeding.create_project(codebuild, project.name, role_arn(project.role), privileged=project.privileged,
                           variables=list(project.variables), **project.overrides)
    if project.public:
        seeding.set_project_visibility(codebuild, project.name, "PUBLIC_READ")
    if project.webhook:
        seeding.create_webhook(codebuild, project.name, project.webhook)


def _create_pipeline(codepipeline, pipeline: Pipeline) -> None:
    store = {"type": "S3", "location": f"{pipeline.name}-artifacts"}
    if int(pipeline.name.rsplit("-", 1)[1]) % 2 == 0:
        store["encryptionKey"] = {"id": KEY_ARN, "type": "KMS"}
    seeding.create_pipeline(codepipeline, pipeline.name, role_arn(pipeline.role), stages=pipeline.stages,
                            artifact_store=store)


def _create_monitoring(clients, account: Plan) -> None:
    notifications = clients("codestar-notifications")
    for pipeline in account.notification_rules:
        notifications.create_notification_rule(
            Name=f"{pipeline}-failures", EventTypeIds=["codepipeline-pipeline-pipeline-execution-failed"],
            Resource=f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:{pipeline}",
            Targets=[{"TargetType": "SNS", "TargetAddress": ALERT_TOPIC}], DetailType="BASIC")
    events = clients("events")
    for name, (pattern, enabled) in account.event_rules.items():
        state = "ENABLED" if enabled else "DISABLED"
        if pattern:
            events.put_rule(Name=name, EventPattern=pattern, State=state)
            events.put_targets(Rule=name, Targets=[{"Id": "alerts", "Arn": ALERT_TOPIC}])
        else:
            events.put_rule(Name=name, ScheduleExpression="rate(1 day)", State=state)
    for pipeline in account.alarms:
        clients("cloudwatch").put_metric_alarm(
            AlarmName=f"{pipeline}-failed", Namespace="Pipelines", MetricName="FailedExecutions",
            Dimensions=[{"Name": "PipelineName", "Value": pipeline}], Statistic="Sum", Period=300,
            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=[ALERT_TOPIC])


def _in_threads(function, items) -> None:
    """Runs `function(item)` for every item on SEED_THREADS threads; the first error is raised."""
    with ThreadPoolExecutor(SEED_THREADS) as pool:
        for _ in pool.map(function, items):
            pass


def seed(account: Plan, clients) -> None:
    """Creates the account through `clients(service)` (thread-safe boto3 clients)."""
    iam = clients("iam")
    customer_arns = {
        name: iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(DOCUMENTS[_CUSTOMER_DOCUMENTS[name]]))
        ["Policy"]["Arn"]
        for name in CUSTOMER_POLICIES
    }
    # One thread: moto's IAM answered a 500 to concurrent attachments of one policy to 2,000 roles.
    for role in account.roles.values():
        _create_role(iam, role, customer_arns)
    codebuild = clients("codebuild")
    _in_threads(lambda project: _create_project(codebuild, project), account.projects)
    for name, export_config in account.report_groups.items():
        seeding.create_report_group(codebuild, name, export_config)
    codepipeline = clients("codepipeline")
    _in_threads(lambda pipeline: _create_pipeline(codepipeline, pipeline), account.pipelines)
    _create_monitoring(clients, account)
