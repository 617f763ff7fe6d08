"""The IAM action that authorizes each API call the test bed counts.

The emulator counts calls as `<service>.<Operation>`, with boto3's service names and the APIs'
operation names (`services/control.py`, `services/s3.py`). A role grants IAM actions,
`<prefix>:<Action>`: for the services pipesec calls the prefix is the boto3 name and the action
the operation's name, except for the S3 operations listed in `RENAMED` (the Service Authorization
Reference's "Amazon S3" page). A service missing here is an error, not a guess.
"""

# boto3 service name -> IAM service prefix, for every service a pipesec function calls.
IAM_PREFIXES = {
    "codebuild": "codebuild",
    "codepipeline": "codepipeline",
    "config": "config",
    "iam": "iam",
    "cloudtrail": "cloudtrail",
    "logs": "logs",
    "cloudwatch": "cloudwatch",
    "codestar-notifications": "codestar-notifications",
    "events": "events",
    "s3": "s3",
    "ecr": "ecr",
    "secretsmanager": "secretsmanager",
    "ssm": "ssm",
    "kms": "kms",
}

# Operations authorized by an action of another name.
RENAMED = {
    "s3.GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3.GetBucketEncryption": "s3:GetEncryptionConfiguration",
}


def iam_action(operation: str) -> str:
    """`s3.GetBucketEncryption` -> `s3:GetEncryptionConfiguration`; `codebuild.BatchGetProjects`
    -> `codebuild:BatchGetProjects`."""
    if operation in RENAMED:
        return RENAMED[operation]
    service, name = operation.split(".", 1)
    if service not in IAM_PREFIXES:
        raise KeyError(f"{operation}: no IAM prefix known for the service `{service}` (testbed/actions.py)")
    return f"{IAM_PREFIXES[service]}:{name}"


def iam_actions(calls: dict[str, int]) -> set[str]:
    """The IAM actions of the operations called at least once."""
    return {iam_action(operation) for operation, count in calls.items() if count}
