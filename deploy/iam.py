"""Least-privilege IAM statements for the pack's own roles, and the check they must pass.

Every action any pipesec function or automation calls must be listed here, either with the ARN
pattern of the resources it acts on, or in `WITHOUT_RESOURCE_LEVEL` with the reason IAM only
accepts `"Resource": "*"` for it. A rule whose `reads` name an action missing from both fails
generation (and so the template tests) until someone decides which it is.
"""

from collections.abc import Iterator
from typing import Any

from deploy.cfn import Commented, sub

# Actions that support no resource-level permissions (the Service Authorization Reference lists
# no resource type for them): IAM only accepts "*" as their resource.
WITHOUT_RESOURCE_LEVEL = {
    "config:PutEvaluations": "config:PutEvaluations has no resource-level permissions",
    "config:GetResourceConfigHistory": "config:GetResourceConfigHistory has no resource-level permissions",
    "config:SelectResourceConfig": "config:SelectResourceConfig has no resource-level permissions",
    "config:BatchGetResourceConfig": "config:BatchGetResourceConfig has no resource-level permissions",
    "codestar-notifications:ListNotificationRules": "codestar-notifications:ListNotificationRules has no resource-level permissions",
    "events:ListRules": "events:ListRules has no resource-level permissions",
    "cloudtrail:LookupEvents": "cloudtrail:LookupEvents has no resource-level permissions",
    "cloudwatch:PutMetricData": "cloudwatch:PutMetricData has no resource-level permissions",
    "organizations:DescribeOrganization": "organizations:DescribeOrganization has no resource-level permissions",
    "organizations:ListAWSServiceAccessForOrganization":
        "organizations:ListAWSServiceAccessForOrganization has no resource-level permissions",
    "organizations:ListAccounts": "organizations:ListAccounts has no resource-level permissions",
    "organizations:ListDelegatedAdministrators":
        "organizations:ListDelegatedAdministrators has no resource-level permissions",
    "ecr:GetRegistryScanningConfiguration": "ecr:GetRegistryScanningConfiguration has no resource-level permissions",
    "ssm:DescribeParameters": "ssm:DescribeParameters has no resource-level permissions",
}

# ARN patterns of the resources an action may act on. `{region}` becomes the stack's region, or
# `*` in a global template (IAM roles serve every region); `{account}` the stack's account.
RESOURCES = {
    "config:GetComplianceDetailsByConfigRule": "arn:${{AWS::Partition}}:config:{region}:{account}:config-rule/*",
    "codebuild:BatchGetProjects": "arn:${{AWS::Partition}}:codebuild:{region}:{account}:project/*",
    "codebuild:UpdateProject": "arn:${{AWS::Partition}}:codebuild:{region}:{account}:project/*",
    # Both are authorized on the project the builds belong to.
    "codebuild:ListBuildsForProject": "arn:${{AWS::Partition}}:codebuild:{region}:{account}:project/*",
    "codebuild:BatchGetBuilds": "arn:${{AWS::Partition}}:codebuild:{region}:{account}:project/*",
    "codebuild:BatchGetReportGroups": "arn:${{AWS::Partition}}:codebuild:{region}:{account}:report-group/*",
    "codepipeline:GetPipeline": "arn:${{AWS::Partition}}:codepipeline:{region}:{account}:*",
    "codepipeline:ListPipelineExecutions": "arn:${{AWS::Partition}}:codepipeline:{region}:{account}:*",
    "codestar-notifications:DescribeNotificationRule":
        "arn:${{AWS::Partition}}:codestar-notifications:{region}:{account}:notificationrule/*",
    "events:ListTargetsByRule": "arn:${{AWS::Partition}}:events:{region}:{account}:rule/*",
    "logs:FilterLogEvents": "arn:${{AWS::Partition}}:logs:{region}:{account}:log-group:*",
    "cloudwatch:DescribeAlarms": "arn:${{AWS::Partition}}:cloudwatch:{region}:{account}:alarm:*",
    "iam:GetRole": "arn:${{AWS::Partition}}:iam::{account}:role/*",
    "iam:GetRolePolicy": "arn:${{AWS::Partition}}:iam::{account}:role/*",
    "iam:ListRolePolicies": "arn:${{AWS::Partition}}:iam::{account}:role/*",
    "iam:ListAttachedRolePolicies": "arn:${{AWS::Partition}}:iam::{account}:role/*",
    # AWS managed policies live in the `aws` account: any account's policies.
    "iam:GetPolicy": "arn:${{AWS::Partition}}:iam::*:policy/*",
    "iam:GetPolicyVersion": "arn:${{AWS::Partition}}:iam::*:policy/*",
    # Artifact store buckets: S3 bucket ARNs carry neither region nor account, and each pipeline
    # names its own bucket (created with it, by the console or a template), so no narrower pattern
    # holds them all.
    "s3:GetBucketPublicAccessBlock": "arn:${{AWS::Partition}}:s3:::*",
    "s3:GetBucketVersioning": "arn:${{AWS::Partition}}:s3:::*",
    "s3:GetBucketPolicy": "arn:${{AWS::Partition}}:s3:::*",
    "s3:GetEncryptionConfiguration": "arn:${{AWS::Partition}}:s3:::*",
    # The remediation of the same buckets (only adds protection: deny statement, block, versioning);
    # deploy/remediation.py narrows its statement to the account's buckets its name pattern matches.
    "s3:PutBucketPublicAccessBlock": "arn:${{AWS::Partition}}:s3:::*",
    "s3:PutBucketVersioning": "arn:${{AWS::Partition}}:s3:::*",
    "s3:PutBucketPolicy": "arn:${{AWS::Partition}}:s3:::*",
    # The account's own repositories, in any region (an image names the region it is pulled from).
    "ecr:DescribeRepositories": "arn:${{AWS::Partition}}:ecr:*:{account}:repository/*",
    # The account's own secrets, in any region (a variable may give a secret's ARN).
    "secretsmanager:DescribeSecret": "arn:${{AWS::Partition}}:secretsmanager:*:{account}:secret:*",
    # Findings of the account's own default product integration only.
    "securityhub:BatchImportFindings": "arn:${{AWS::Partition}}:securityhub:{region}:{account}:product/{account}/default",
}


class UnknownActionError(KeyError):
    def __str__(self) -> str:
        return (
            f"{self.args[0]}: not in deploy/iam.py; add its resource ARN pattern to RESOURCES, or, if it has "
            "no resource-level permissions, add it to WITHOUT_RESOURCE_LEVEL with the reason"
        )


def statements(actions: list[str], sid: str, region: str = "${AWS::Region}", account: str = "${AWS::AccountId}") -> list:
    """Allow statements for `actions`: one per resource pattern, plus one on "*" (commented) for the
    actions without resource-level permissions. `sid` prefixes the statement ids."""
    by_resource: dict[str, list[str]] = {}
    star: list[str] = []
    for action in actions:
        if action in WITHOUT_RESOURCE_LEVEL:
            star.append(action)
        elif action in RESOURCES:
            pattern = RESOURCES[action].format(region=region, account=account)
            by_resource.setdefault(pattern, []).append(action)
        else:
            raise UnknownActionError(action)
    result: list[Any] = []
    if star:
        result.append({
            "Sid": f"{sid}NoResourceLevelPermissions",
            "Effect": "Allow",
            "Action": [Commented(action, WITHOUT_RESOURCE_LEVEL[action]) for action in star],
            "Resource": Commented("*", "only accepted resource for the actions above"),
        })
    for index, (pattern, grouped) in enumerate(sorted(by_resource.items()), start=1):
        result.append({
            "Sid": f"{sid}{index}",
            "Effect": "Allow",
            "Action": grouped,
            "Resource": sub(pattern),
        })
    return result


# --- the check --------------------------------------------------------------------------------


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def policy_documents(template: dict) -> list[tuple[str, dict]]:
    """(where, document) of every identity policy a template grants: role inline policies and
    AWS::IAM::Policy / ManagedPolicy resources."""
    found = []
    for name, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for policy in properties.get("Policies", []):
                found.append((f"{name}/{policy['PolicyName']}", policy["PolicyDocument"]))
            if properties.get("ManagedPolicyArns"):
                found.append((f"{name}/ManagedPolicyArns", {"Statement": [{"Effect": "Allow", "Action": "*",
                                                                           "Resource": "*"}]}))
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            found.append((name, properties["PolicyDocument"]))
    return found


def _allow_statements(documents) -> Iterator[tuple[str, dict]]:
    """The Allow statements of `(where, document)` pairs, each with where it is; a statement under
    `Fn::If` is checked as its first branch."""
    for where, document in documents:
        for statement in _as_list(document.get("Statement", [])):
            if isinstance(statement, dict) and "Fn::If" in statement:
                statement = statement["Fn::If"][1]
            if isinstance(statement, dict) and statement.get("Effect") == "Allow":
                yield where, statement


def problems(template: dict) -> list[str]:
    """Why the template's identity policies are not least privilege; empty when they are.

    No `*` or `service:*` action, no NotAction / NotResource, no managed policies (their contents
    are not reviewed here), and `*` as a resource only for actions in WITHOUT_RESOURCE_LEVEL.
    """
    found = []
    for where, statement in _allow_statements(policy_documents(template)):
        sid = statement.get("Sid", "?")
        for key in ("NotAction", "NotResource"):
            if key in statement:
                found.append(f"{where} {sid}: {key} grants everything else")
        actions = _as_list(statement.get("Action", []))
        for action in actions:
            if not isinstance(action, str) or action == "*" or action.endswith(":*"):
                found.append(f"{where} {sid}: wildcard action {action!r}")
        if "*" in _as_list(statement.get("Resource", [])):
            for action in actions:
                if action not in WITHOUT_RESOURCE_LEVEL:
                    found.append(f"{where} {sid}: {action} on resource '*' though it has resource-level "
                                 "permissions")
    return found


class LeastPrivilegeError(ValueError):
    """A generated template fails the least-privilege check: generation stops."""


# --- trust and resource policies ----------------------------------------------------------------

# Resource types whose policy names who may act on them: (property of the policy, or None when the
# resource itself is one statement, as AWS::Lambda::Permission is).
RESOURCE_POLICIES = {
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::Lambda::Permission": None,
}
# Condition keys that name the calling principal or its account: a wildcard there trusts a path
# or any account. aws:SourceArn names the calling resource: only its account must not be a wildcard.
PRINCIPAL_CONDITION_KEYS = {"aws:principalarn", "aws:sourceaccount", "aws:principalaccount"}
SOURCE_ARN_KEY = "aws:sourcearn"


def _text(value: Any) -> str | None:
    """The string a policy value stands for: itself, or the text of a `!Sub` (variables kept)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub_value = value["Fn::Sub"]
        return sub_value if isinstance(sub_value, str) else sub_value[0]
    return None


def _principal_problems(where: str, principal: Any) -> list[str]:
    if principal == "*":
        return [f"{where}: principal '*' (anyone, any account)"]
    found = []
    if isinstance(principal, dict):
        for value in _as_list(principal.get("AWS", [])):
            text = _text(value)
            if text == "*":
                found.append(f"{where}: AWS principal '*' (any account)")
            elif text is not None and "*" in text:
                found.append(f"{where}: AWS principal {text!r} has a wildcard (a path or an account)")
    return found


def _condition_problems(where: str, condition: Any) -> list[str]:
    found = []
    if not isinstance(condition, dict):
        return found
    for operator, pairs in condition.items():
        if not isinstance(pairs, dict):
            continue
        for key, values in pairs.items():
            for value in _as_list(values):
                text = _text(value)
                if text is None or "*" not in text:
                    continue
                if key.lower() in PRINCIPAL_CONDITION_KEYS:
                    found.append(f"{where}: {operator} {key} {text!r} trusts a wildcard (a path or an account)")
                elif key.lower() == SOURCE_ARN_KEY and "*" in "".join(text.split(":")[4:5]):
                    found.append(f"{where}: {operator} {key} {text!r} allows any account")
    return found


def trust_documents(template: dict) -> list[tuple[str, dict]]:
    """(where, document) of every policy that names principals: role trust policies and resource
    policies (keys, topics, queues, Lambda permissions)."""
    found = []
    for name, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::IAM::Role":
            found.append((f"{name}/AssumeRolePolicyDocument", properties["AssumeRolePolicyDocument"]))
        elif kind in RESOURCE_POLICIES:
            key = RESOURCE_POLICIES[kind]
            if key is None:
                statement = {"Effect": "Allow", "Principal": properties.get("Principal")}
                for condition_key in ("SourceArn", "SourceAccount"):
                    if condition_key in properties:
                        statement.setdefault("Condition", {"StringEquals": {}})["StringEquals"][
                            f"aws:{condition_key}"] = properties[condition_key]
                found.append((name, {"Statement": [statement]}))
            else:
                found.append((f"{name}/{key}", properties[key]))
    return found


def trust_problems(template: dict) -> list[str]:
    """Why the template's trust and resource policies trust more than named principals: `*`, an
    account wildcard, or a path wildcard (in the principal or in a principal condition)."""
    found = []
    for where, statement in _allow_statements(trust_documents(template)):
        label = f"{where} {statement.get('Sid', '?')}"
        if "NotPrincipal" in statement:
            found.append(f"{label}: NotPrincipal trusts everyone else")
        found.extend(_principal_problems(label, statement.get("Principal")))
        found.extend(_condition_problems(label, statement.get("Condition")))
    return found


def permission_problems(template: dict) -> list[str]:
    """Lambda permissions for a service principal (e.g. config.amazonaws.com) must name the account
    or resource it acts for: without SourceAccount or SourceArn, that service in any account may
    invoke the function."""
    found = []
    for name, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        principal = properties.get("Principal")
        if resource["Type"] != "AWS::Lambda::Permission" or not isinstance(principal, str):
            continue
        if principal.endswith(".amazonaws.com") and not ({"SourceAccount", "SourceArn"} & set(properties)):
            found.append(f"{name}: {principal} may invoke the function from any account (no SourceAccount or "
                         "SourceArn)")
    return found


def assume_role_problems(template: dict) -> list[str]:
    """sts:AssumeRole* granted on roles of any account (`iam::*:role`) or on '*'."""
    found = []
    for where, statement in _allow_statements(policy_documents(template)):
        actions = [a for a in _as_list(statement.get("Action", [])) if isinstance(a, str)]
        if not any(a.lower().startswith("sts:assumerole") or a.lower() == "sts:*" for a in actions):
            continue
        for resource in _as_list(statement.get("Resource", [])):
            text = _text(resource)
            if text == "*" or (text is not None and ":iam::*:" in text):
                found.append(f"{where} {statement.get('Sid', '?')}: sts:AssumeRole on {text!r}, roles of any "
                             "account")
    return found


def all_problems(template: dict) -> list[str]:
    """Every least-privilege problem of a template: identity, trust and resource policies."""
    return [*problems(template), *trust_problems(template), *permission_problems(template),
            *assume_role_problems(template)]
