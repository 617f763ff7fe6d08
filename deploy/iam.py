"""Least-privilege IAM statements for the pack's own roles, and the check they must pass.

Every action any pipesec function or automation calls must be listed here, either with the ARN
pattern of the resources it acts on, or in `WITHOUT_RESOURCE_LEVEL` with the reason IAM only
accepts `"Resource": "*"` for it. A rule whose `reads` name an action missing from both fails
generation (and so the template tests) until someone decides which it is.
"""

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


def problems(template: dict) -> list[str]:
    """Why the template's identity policies are not least privilege; empty when they are.

    No `*` or `service:*` action, no NotAction / NotResource, no managed policies (their contents
    are not reviewed here), and `*` as a resource only for actions in WITHOUT_RESOURCE_LEVEL.
    """
    found = []
    for where, document in policy_documents(template):
        for statement in _as_list(document.get("Statement", [])):
            if isinstance(statement, dict) and "Fn::If" in statement:
                statement = statement["Fn::If"][1]
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
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
