"""Deploys a CloudFormation template onto the emulator through the service APIs.

moto's CloudFormation skips Config resources and drops Lambda `Architectures`, so the
tests cannot use it for pipesec's templates. `deploy()` does what CloudFormation would, for the
resource types the templates use: resolves parameters, conditions and intrinsic functions, orders
resources by their references, and creates each one with the matching API call. A resource type it
does not know fails the deployment, so a new kind of resource in a template cannot go untested.

Lambda functions are created from a dummy zip (the package itself is tested elsewhere) and never
invoked. A stack goes to any account and region (`account=`, `region=`: the clients must act
there). A conformance pack is deployed as Config does: its template as a stack of its own, each
rule named `<name>-conformance-pack-<random>`. Automation rules go through CreateAutomationRule. A
service-managed StackSet deploys its template into every account of its target OUs (through
Organizations; the management account skipped) and region, with `open_account`.
"""

import io
import json
import re
import secrets
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any, Callable

import yaml

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        archive.writestr(info, "#!/bin/sh\nexit 1\n")
    return buffer.getvalue()


class UnsupportedResource(NotImplementedError):
    pass


@dataclass
class Created:
    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Stack:
    """What `deploy` created: by logical id, the Ref value and attributes; skipped: condition false."""

    name: str
    resources: dict[str, Created]
    skipped: list[str]
    outputs: dict[str, Any]


def _references(value: Any) -> set[str]:
    """Logical ids (or parameters) a value refers to."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value:
            found.add(value["Ref"])
        elif "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        elif "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            found.update(variable.split(".")[0] for variable in _SUB_VARIABLE.findall(text))
        for item in value.values():
            found |= _references(item)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item)
    return found


@dataclass(frozen=True)
class Target:
    """Where a stack is deployed: its name, account and region; `open_account(account, region)`
    gives the client factory of another account (StackSets deploy into other accounts)."""

    name: str
    account: str = ACCOUNT_ID
    region: str = REGION
    open_account: Callable[[str, str], Callable] | None = field(default=None, compare=False)

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{PARTITION}:{service}:{self.region}:{self.account}:{resource}"


class _Resolver:
    def __init__(self, template: dict, parameters: dict[str, str], target: Target):
        self.template = template
        self.mappings = template.get("Mappings", {})
        self.values: dict[str, Any] = {
            "AWS::AccountId": target.account,
            "AWS::Region": target.region,
            "AWS::Partition": PARTITION,
            "AWS::StackName": target.name,
            "AWS::URLSuffix": "amazonaws.com",
        }
        declared = template.get("Parameters", {})
        unknown = set(parameters) - set(declared)
        if unknown:
            raise ValueError(f"unknown parameters {sorted(unknown)}")
        for name, declaration in declared.items():
            if name not in parameters and "Default" not in declaration:
                raise ValueError(f"parameter {name} has no default and no value")
            value = parameters.get(name, declaration.get("Default"))
            allowed = declaration.get("AllowedValues")
            if allowed is not None and value not in allowed and str(value) not in map(str, allowed):
                raise ValueError(f"parameter {name}: {value!r} is not one of {allowed}")
            if declaration["Type"] == "CommaDelimitedList":
                value = [item.strip() for item in str(value).split(",")]
            self.values[name] = str(value) if declaration["Type"] == "String" else value
        self.attributes: dict[str, dict[str, str]] = {}
        self.conditions = {name: self.resolve(body) for name, body in template.get("Conditions", {}).items()}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), = value.items()
            if key == "Ref":
                if argument == "AWS::NoValue":
                    return _NO_VALUE
                return self.values[argument]
            if key == "Fn::GetAtt":
                return self.attributes[argument[0]][argument[1]]
            if key == "Fn::Sub":
                return _SUB_VARIABLE.sub(lambda m: str(self._sub_variable(m[1])), argument)
            if key == "Fn::If":
                condition, then, otherwise = argument
                return self.resolve(then if self.conditions[condition] else otherwise)
            if key == "Fn::Equals":
                a, b = (self.resolve(item) for item in argument)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.resolve(argument[0])
            if key == "Fn::FindInMap":
                name, top, second = (self.resolve(item) for item in argument)
                return self.mappings[name][top][second]
            if key == "Fn::Join":
                return argument[0].join(str(self.resolve(item)) for item in argument[1])
            if key.startswith("Fn::"):
                raise UnsupportedResource(f"intrinsic function {key}")
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _sub_variable(self, variable: str) -> Any:
        if "." in variable and not variable.startswith("AWS::"):
            resource, attribute = variable.split(".", 1)
            return self.attributes[resource][attribute]
        return self.values[variable]


_NO_VALUE = object()


def _order(resources: dict[str, dict]) -> list[str]:
    """Logical ids, each after the resources it refers to or depends on."""
    dependencies = {}
    for name, resource in resources.items():
        depends = resource.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else depends
        dependencies[name] = (_references(resource.get("Properties", {})) | set(depends)) & set(resources)
    ordered: list[str] = []
    while len(ordered) < len(resources):
        ready = [name for name in resources if name not in ordered and dependencies[name] <= set(ordered)]
        if not ready:
            raise ValueError(f"circular references among {sorted(set(resources) - set(ordered))}")
        ordered.extend(ready)
    return ordered


def _log_group(clients, stack, name, p) -> Created:
    logs = clients("logs")
    logs.create_log_group(logGroupName=p["LogGroupName"])
    if "RetentionInDays" in p:
        logs.put_retention_policy(logGroupName=p["LogGroupName"], retentionInDays=int(p["RetentionInDays"]))
    return Created(p["LogGroupName"], {"Arn": stack.arn("logs", f"log-group:{p['LogGroupName']}:*")})


def _role(clients, stack, name, p) -> Created:
    iam = clients("iam")
    # CloudFormation's generated names: stack, logical id and a random suffix, within IAM's 64.
    role_name = p.get("RoleName") or f"{stack.name}-{name}"[:51] + "-" + secrets.token_hex(6).upper()
    options = {key: p[key] for key in ("Path", "Description", "MaxSessionDuration") if key in p}
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(p["AssumeRolePolicyDocument"]),
                           **options)["Role"]
    for policy in p.get("Policies", []):
        iam.put_role_policy(RoleName=role_name, PolicyName=policy["PolicyName"],
                            PolicyDocument=json.dumps(policy["PolicyDocument"]))
    for arn in p.get("ManagedPolicyArns", []):
        iam.attach_role_policy(RoleName=role_name, PolicyArn=arn)
    return Created(role_name, {"Arn": role["Arn"], "RoleId": role["RoleId"]})


def _function(clients, stack, name, p) -> Created:
    options = {key: p[key] for key in ("Description", "MemorySize", "Timeout", "Architectures", "LoggingConfig",
                                       "Environment") if key in p}
    function = clients("lambda").create_function(
        FunctionName=p["FunctionName"], Runtime=p["Runtime"], Role=p["Role"], Handler=p["Handler"],
        Code={"ZipFile": dummy_zip()}, **options,
    )
    return Created(p["FunctionName"], {"Arn": function["FunctionArn"]})


def _permission(clients, stack, name, p) -> Created:
    options = {key: p[key] for key in ("SourceAccount", "SourceArn", "PrincipalOrgID") if key in p}
    clients("lambda").add_permission(FunctionName=p["FunctionName"], StatementId=name, Action=p["Action"],
                                     Principal=p["Principal"], **options)
    return Created(name)


def _config_rule(clients, stack, name, p) -> Created:
    rule = {key: p[key] for key in ("ConfigRuleName", "Description", "Scope", "Source", "MaximumExecutionFrequency")
            if key in p}
    if "InputParameters" in p:
        rule["InputParameters"] = json.dumps(p["InputParameters"])
    clients("config").put_config_rule(ConfigRule=rule)
    described = clients("config").describe_config_rules(ConfigRuleNames=[p["ConfigRuleName"]])["ConfigRules"][0]
    return Created(p["ConfigRuleName"], {"Arn": described["ConfigRuleArn"], "ConfigRuleId": described["ConfigRuleId"]})


def _remediation(clients, stack, name, p) -> Created:
    configuration = {key: p[key] for key in ("ConfigRuleName", "TargetType", "TargetId", "TargetVersion", "Parameters",
                                             "Automatic", "MaximumAutomaticAttempts", "RetryAttemptSeconds")
                     if key in p}
    clients("config").put_remediation_configurations(RemediationConfigurations=[configuration])
    return Created(name)


def _events_rule(clients, stack, name, p) -> Created:
    events = clients("events")
    rule_name = p.get("Name") or f"{stack.name}-{name}"[:64]
    trigger = ({"ScheduleExpression": p["ScheduleExpression"]} if "ScheduleExpression" in p
               else {"EventPattern": json.dumps(p["EventPattern"])})
    arn = events.put_rule(Name=rule_name, State=p.get("State", "ENABLED"), Description=p.get("Description", ""),
                          **trigger)["RuleArn"]
    if p.get("Targets"):
        events.put_targets(Rule=rule_name, Targets=p["Targets"])
    return Created(rule_name, {"Arn": arn})


def _topic(clients, stack, name, p) -> Created:
    attributes = {"KmsMasterKeyId": p["KmsMasterKeyId"]} if "KmsMasterKeyId" in p else {}
    if "DisplayName" in p:
        attributes["DisplayName"] = p["DisplayName"]
    arn = clients("sns").create_topic(Name=p.get("TopicName") or f"{stack.name}-{name}", Attributes=attributes)["TopicArn"]
    return Created(arn, {"TopicName": arn.rsplit(":", 1)[1]})


def _topic_policy(clients, stack, name, p) -> Created:
    for topic in p["Topics"]:
        clients("sns").set_topic_attributes(TopicArn=topic, AttributeName="Policy",
                                            AttributeValue=json.dumps(p["PolicyDocument"]))
    return Created(name)


def _subscription(clients, stack, name, p) -> Created:
    arn = clients("sns").subscribe(TopicArn=p["TopicArn"], Protocol=p["Protocol"], Endpoint=p["Endpoint"])
    return Created(arn["SubscriptionArn"])


def _key(clients, stack, name, p) -> Created:
    kms = clients("kms")
    key = kms.create_key(Policy=json.dumps(p["KeyPolicy"]), Description=p.get("Description", ""))["KeyMetadata"]
    if p.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=key["KeyId"])
    return Created(key["KeyId"], {"Arn": key["Arn"], "KeyId": key["KeyId"]})


def _alias(clients, stack, name, p) -> Created:
    clients("kms").create_alias(AliasName=p["AliasName"], TargetKeyId=p["TargetKeyId"])
    return Created(p["AliasName"])


def _aggregator(clients, stack, name, p) -> Created:
    sources = {key: p[key] for key in ("OrganizationAggregationSource", "AccountAggregationSources") if key in p}
    aggregator = clients("config").put_configuration_aggregator(
        ConfigurationAggregatorName=p["ConfigurationAggregatorName"], **sources)["ConfigurationAggregator"]
    return Created(p["ConfigurationAggregatorName"],
                   {"ConfigurationAggregatorArn": aggregator["ConfigurationAggregatorArn"]})


def _dashboard(clients, stack, name, p) -> Created:
    clients("cloudwatch").put_dashboard(DashboardName=p["DashboardName"], DashboardBody=p["DashboardBody"])
    return Created(p["DashboardName"])


def _document(clients, stack, name, p) -> Created:
    document_format = p.get("DocumentFormat", "JSON")
    content = yaml.safe_dump(p["Content"], sort_keys=False) if document_format == "YAML" else json.dumps(p["Content"])
    clients("ssm").create_document(Name=p["Name"], Content=content, DocumentType=p["DocumentType"],
                                   DocumentFormat=document_format)
    return Created(p["Name"])


def _conformance_pack(clients, stack, name, p) -> Created:
    """What Config does with a conformance pack: deploys its template as a stack of its own, each
    rule named `<name>-conformance-pack-<random>` (Config's documented naming)."""
    from deploy import cfn  # the same reader the template tests use

    body = cfn.load(p["TemplateBody"])
    suffix = "-conformance-pack-" + secrets.token_hex(4)
    renamed = {}
    for resource in body["Resources"].values():
        if resource["Type"] == "AWS::Config::ConfigRule":
            original = resource["Properties"]["ConfigRuleName"]
            renamed[original] = resource["Properties"]["ConfigRuleName"] = original + suffix
    for resource in body["Resources"].values():
        if resource["Type"] == "AWS::Config::RemediationConfiguration":
            resource["Properties"]["ConfigRuleName"] = renamed[resource["Properties"]["ConfigRuleName"]]
    values = {item["ParameterName"]: item["ParameterValue"] for item in p.get("ConformancePackInputParameters", [])}
    inner = deploy(body, clients, values, stack_name=f"awsconfigconforms-{p['ConformancePackName']}",
                   account=stack.account, region=stack.region)
    return Created(p["ConformancePackName"], {"RuleNames": renamed, "Stack": inner})


def _automation_rule(clients, stack, name, p) -> Created:
    rule = {key: p[key] for key in ("RuleName", "RuleStatus", "RuleOrder", "Description", "IsTerminal", "Criteria",
                                    "Actions") if key in p}
    rule["RuleOrder"] = int(rule["RuleOrder"])
    arn = clients("securityhub").create_automation_rule(**rule)["RuleArn"]
    return Created(arn, {"RuleArn": arn})


def _template_from_url(clients, url: str) -> dict:
    """A template CloudFormation reads from S3: https://BUCKET.s3[.REGION].amazonaws.com/KEY."""
    from deploy import cfn

    match = re.fullmatch(r"https://([^./]+)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com/(.+)", url)
    if not match:
        raise ValueError(f"TemplateURL {url!r} is not an S3 object URL")
    body = clients("s3").get_object(Bucket=match[1], Key=match[2])["Body"].read().decode()
    return cfn.load(body)


def _capability_needed(template: dict) -> str | None:
    roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    if any("RoleName" in r.get("Properties", {}) for r in roles):
        return "CAPABILITY_NAMED_IAM"
    return "CAPABILITY_IAM" if roles else None


def _organization_accounts(clients, parents: list[str]) -> list[str]:
    """The accounts under `parents` (OUs or the root), child OUs included, as StackSets target."""
    organizations = clients("organizations")
    found, pending = [], list(parents)
    while pending:
        parent = pending.pop()
        found += [a["Id"] for a in organizations.list_accounts_for_parent(ParentId=parent)["Accounts"]]
        pending += [ou["Id"] for ou in organizations.list_organizational_units_for_parent(
            ParentId=parent)["OrganizationalUnits"]]
    return found


_STACK_SET_ARNS: set[str] = set()


def _stack_set(clients, stack, name, p) -> Created:
    """A service-managed StackSet: its template deployed as a stack into every account of the target
    OUs (the management account skipped, as AWS does) and region, through `stack.open_account`.
    Checked as CloudFormation would: SERVICE_MANAGED with auto-deployment, the capability the
    template's IAM roles need, every DependsOn an existing StackSet's ARN."""
    if p.get("PermissionModel") != "SERVICE_MANAGED" or not p.get("AutoDeployment", {}).get("Enabled"):
        raise UnsupportedResource("test bed: only service-managed StackSets with auto-deployment")
    for arn in p["AutoDeployment"].get("DependsOn", []):
        if arn not in _STACK_SET_ARNS:
            raise ValueError(f"{name}: AutoDeployment.DependsOn {arn} is no StackSet")
    template = _template_from_url(clients, p["TemplateURL"]) if "TemplateURL" in p else yaml.safe_load(
        p["TemplateBody"])
    needed = _capability_needed(template)
    if needed and needed not in p.get("Capabilities", []) and "CAPABILITY_NAMED_IAM" not in p.get("Capabilities", []):
        raise ValueError(f"{name}: InsufficientCapabilities, requires {needed}")
    parameters = {item["ParameterKey"]: item["ParameterValue"] for item in p.get("Parameters", [])}
    management = clients("organizations").describe_organization()["Organization"]["MasterAccountId"]
    instances = {}
    for group in p["StackInstancesGroup"]:
        accounts = _organization_accounts(clients, group["DeploymentTargets"]["OrganizationalUnitIds"])
        for account in accounts:
            if account == management:
                continue  # service-managed StackSets skip the management account
            for region in group["Regions"]:
                instances[(account, region)] = deploy(
                    template, stack.open_account(account, region), parameters,
                    stack_name=f"StackSet-{p['StackSetName']}-{secrets.token_hex(4)}", account=account, region=region)
    stack_set_id = f"{p['StackSetName']}:{uuid.uuid4()}"
    _STACK_SET_ARNS.add(f"arn:{PARTITION}:cloudformation:{stack.region}:{stack.account}:stackset/{stack_set_id}")
    return Created(stack_set_id, {"Instances": instances})


# AWS::CloudFormation::LambdaHook, from its resource reference (the Alias pattern, the allowed
# values). CloudFormation activates a private hook type under the alias and sets its configuration;
# moto has no CloudFormation hooks at all, so this only checks what the documentation requires of
# the properties and of the function and role they name, and records the hook. Not emulated:
# activation, invocation by CloudFormation, FailureMode enforcement, the 30 second budget.
_HOOK_ALIAS = re.compile(r"^(?!(?i:aws))[A-Za-z0-9]{2,64}::[A-Za-z0-9]{2,64}::[A-Za-z0-9]{2,64}$")
_HOOK_TARGET_OPERATIONS = {"RESOURCE", "STACK", "CHANGE_SET", "CLOUD_CONTROL"}
LAMBDA_HOOKS: dict[str, dict] = {}


def _lambda_hook(clients, stack, name, p) -> Created:
    problems = []
    if not _HOOK_ALIAS.match(p["Alias"]):
        problems.append(f"Alias {p['Alias']!r} is not Name1::Name2::Name3 (not starting with AWS)")
    if p["FailureMode"] not in ("FAIL", "WARN"):
        problems.append(f"FailureMode {p['FailureMode']!r}")
    if p["HookStatus"] not in ("ENABLED", "DISABLED"):
        problems.append(f"HookStatus {p['HookStatus']!r}")
    if not set(p["TargetOperations"]) <= _HOOK_TARGET_OPERATIONS:
        problems.append(f"TargetOperations {p['TargetOperations']}")
    clients("lambda").get_function(FunctionName=p["LambdaFunction"])  # raises when it does not exist
    role = clients("iam").get_role(RoleName=p["ExecutionRole"].rsplit("/", 1)[1])["Role"]
    trusted = [statement["Principal"].get("Service") for statement in role["AssumeRolePolicyDocument"]["Statement"]]
    if "hooks.cloudformation.amazonaws.com" not in trusted:
        problems.append("the execution role does not trust hooks.cloudformation.amazonaws.com")
    if problems:
        raise ValueError(f"{name}: {'; '.join(problems)}")
    arn = stack.arn("cloudformation", f"type/hook/{p['Alias'].replace('::', '-')}")
    LAMBDA_HOOKS[arn] = dict(p)
    return Created(arn, {"HookArn": arn})


HANDLERS: dict[str, Callable[..., Created]] = {
    "AWS::CloudFormation::LambdaHook": _lambda_hook,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::IAM::Role": _role,
    "AWS::Lambda::Function": _function,
    "AWS::Lambda::Permission": _permission,
    "AWS::Config::ConfigRule": _config_rule,
    "AWS::Config::RemediationConfiguration": _remediation,
    "AWS::Config::ConfigurationAggregator": _aggregator,
    "AWS::Events::Rule": _events_rule,
    "AWS::SNS::Topic": _topic,
    "AWS::SNS::TopicPolicy": _topic_policy,
    "AWS::SNS::Subscription": _subscription,
    "AWS::KMS::Key": _key,
    "AWS::KMS::Alias": _alias,
    "AWS::CloudWatch::Dashboard": _dashboard,
    "AWS::SSM::Document": _document,
    "AWS::Config::ConformancePack": _conformance_pack,
    "AWS::SecurityHub::AutomationRule": _automation_rule,
    "AWS::CloudFormation::StackSet": _stack_set,
}


def deploy(template: dict, clients: Callable, parameters: dict[str, str] | None = None,
           stack_name: str = "pipesec", account: str = ACCOUNT_ID, region: str = REGION,
           open_account: Callable[[str, str], Callable] | None = None) -> Stack:
    """Creates the template's resources on the emulator; `clients(service)` builds boto3 clients
    acting in `account` and `region`; `open_account(account, region)` those of other accounts."""
    target = Target(stack_name, account, region, open_account)
    resolver = _Resolver(template, parameters or {}, target)
    resources = template["Resources"]
    unsupported = sorted({r["Type"] for r in resources.values()} - set(HANDLERS))
    if unsupported:
        raise UnsupportedResource(f"no emulator deployment for {unsupported}: add a handler to testbed/stack.py")
    created: dict[str, Created] = {}
    skipped = []
    for name in _order(resources):
        resource = resources[name]
        condition = resource.get("Condition")
        if condition is not None and not resolver.conditions[condition]:
            skipped.append(name)
            resolver.values[name] = _NO_VALUE
            continue
        properties = resolver.resolve(resource.get("Properties", {}))
        result = HANDLERS[resource["Type"]](clients, target, name, properties)
        created[name] = result
        resolver.values[name] = result.ref
        resolver.attributes[name] = result.attributes
    outputs = {}
    for name, output in template.get("Outputs", {}).items():
        if output.get("Condition") is None or resolver.conditions[output["Condition"]]:
            outputs[name] = resolver.resolve(output["Value"])
    return Stack(stack_name, created, skipped, outputs)
