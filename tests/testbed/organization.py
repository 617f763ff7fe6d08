"""An emulated organization: a management account, member accounts created through Organizations,
and clients acting in any of them through STS AssumeRole (moto gives credentials of the account
the role ARN names, and keeps each account's state apart)."""

import boto3
from botocore.config import Config

MANAGEMENT_ACCOUNT = "123456789012"
# The role Organizations creates in every account it creates (moto does not check it exists).
ACCESS_ROLE = "OrganizationAccountAccessRole"


def create_organization(organizations, members: int) -> list[str]:
    """An organization of the caller's account with `members` new accounts; returns the members' ids."""
    organizations.create_organization(FeatureSet="ALL")
    ids = []
    for index in range(members):
        status = organizations.create_account(AccountName=f"member-{index}", Email=f"member-{index}@example.com")
        ids.append(status["CreateAccountStatus"]["AccountId"])
    return ids


def account_client_factory(sts, endpoint_url: str, region: str, account: str):
    """A function building boto3 clients that act in `account` (an assumed role there)."""
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ACCESS_ROLE}",
                                  RoleSessionName="testbed")["Credentials"]

    def client(service: str, client_region: str = region):
        return boto3.client(
            service,
            endpoint_url=endpoint_url,
            region_name=client_region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    return client
