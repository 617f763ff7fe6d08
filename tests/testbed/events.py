"""Config rule Lambda events, shaped like the ones Config sends.

`invokingEvent` and `ruleParameters` are JSON *strings* inside the envelope, as in the real events.
Items are event-model configuration items (see `config_items`; e.g. from
`config_items.api_item_to_event_item` applied to what the emulator's recorder serves).
"""

import copy
import hashlib
import json
import time

from testbed.config_items import iso_millis
from testbed.tokens import mint_result_token

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"


def _envelope(
    invoking_event: dict,
    rule_name: str,
    account_id: str,
    region: str,
    rule_parameters: dict | None,
    result_token: str | None,
    event_left_scope: bool,
) -> dict:
    # A stable, Config-looking rule id, so events for one rule agree with each other.
    rule_id = "config-rule-" + hashlib.sha256(rule_name.encode()).hexdigest()[:6]
    event = {
        "version": "1.0",
        "invokingEvent": json.dumps(invoking_event),
        "resultToken": result_token if result_token is not None else mint_result_token(rule_name),
        "eventLeftScope": event_left_scope,
        "executionRoleArn": f"arn:aws:iam::{account_id}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
        "configRuleArn": f"arn:aws:config:{region}:{account_id}:config-rule/{rule_id}",
        "configRuleName": rule_name,
        "configRuleId": rule_id,
        "accountId": account_id,
    }
    # Config leaves ruleParameters out when the rule has none.
    if rule_parameters is not None:
        event["ruleParameters"] = json.dumps(rule_parameters)
    return event


def _now() -> str:
    return iso_millis(time.time())


def change_event(
    item: dict,
    rule_name: str,
    rule_parameters: dict | None = None,
    result_token: str | None = None,
    event_left_scope: bool = False,
) -> dict:
    """A ConfigurationItemChangeNotification carrying `item`."""
    invoking_event = {
        "configurationItem": item,
        "configurationItemDiff": None,
        "notificationCreationTime": _now(),
        "messageType": "ConfigurationItemChangeNotification",
        "recordVersion": "1.3",
    }
    return _envelope(
        invoking_event,
        rule_name,
        item.get("awsAccountId", DEFAULT_ACCOUNT_ID),
        item.get("awsRegion", DEFAULT_REGION),
        rule_parameters,
        result_token,
        event_left_scope,
    )


def oversized_event(
    item: dict,
    rule_name: str,
    rule_parameters: dict | None = None,
    result_token: str | None = None,
    event_left_scope: bool = False,
    change_type: str = "UPDATE",
) -> dict:
    """An OversizedConfigurationItemChangeNotification for `item`: a summary, no configuration.
    The rule must fetch the item with GetResourceConfigHistory."""
    account_id = item.get("awsAccountId", DEFAULT_ACCOUNT_ID)
    region = item.get("awsRegion", DEFAULT_REGION)
    summary = {
        "changeType": change_type,
        "configurationItemVersion": item.get("configurationItemVersion", "1.3"),
        "configurationItemCaptureTime": item.get("configurationItemCaptureTime"),
        "configurationStateId": item.get("configurationStateId"),
        "awsAccountId": account_id,
        "configurationItemStatus": item.get("configurationItemStatus"),
        "resourceType": item.get("resourceType"),
        "resourceId": item.get("resourceId"),
        "resourceName": item.get("resourceName"),
        "ARN": item.get("ARN"),
        "awsRegion": region,
        "availabilityZone": item.get("availabilityZone"),
        "configurationStateMd5Hash": item.get("configurationStateMd5Hash", ""),
        "resourceCreationTime": item.get("resourceCreationTime"),
    }
    delivery = {
        "s3BucketLocation": (
            f"config-bucket-{account_id}/AWSLogs/{account_id}/Config/{region}/"
            f"{time.strftime('%Y/%m/%d')}/OversizedChangeNotification/{item.get('resourceType')}/"
            f"{item.get('resourceId')}.json.gz"
        ),
        "errorCode": None,
        "errorMessage": None,
    }
    invoking_event = {
        "configurationItemSummary": summary,
        "s3DeliverySummary": delivery,
        "notificationCreationTime": _now(),
        "messageType": "OversizedConfigurationItemChangeNotification",
        "recordVersion": "1.0",
    }
    return _envelope(
        invoking_event, rule_name, account_id, region, rule_parameters, result_token, event_left_scope
    )


def scheduled_event(
    rule_name: str,
    rule_parameters: dict | None = None,
    result_token: str | None = None,
    account_id: str = DEFAULT_ACCOUNT_ID,
    region: str = DEFAULT_REGION,
) -> dict:
    """A ScheduledNotification (periodic rules)."""
    invoking_event = {
        "awsAccountId": account_id,
        "notificationCreationTime": _now(),
        "messageType": "ScheduledNotification",
        "recordVersion": "1.0",
    }
    return _envelope(invoking_event, rule_name, account_id, region, rule_parameters, result_token, False)


def deleted(item: dict) -> dict:
    """A copy of `item` as Config records the resource's deletion: status ResourceDeleted, no
    configuration, captured now (a deletion is a newer change than the item it follows)."""
    deleted_item = copy.deepcopy(item)
    deleted_item["configurationItemStatus"] = "ResourceDeleted"
    deleted_item["configuration"] = None
    deleted_item["configurationItemCaptureTime"] = _now()
    return deleted_item
