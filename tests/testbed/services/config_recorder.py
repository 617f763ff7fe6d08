"""AWS Config's configuration recorder, for the resource types pipesec's rules evaluate.

moto 5.2.5 records a few types (S3 buckets, IAM roles and policies, SNS topics) but not CodeBuild
projects, CodeBuild report groups or CodePipeline pipelines. Their configuration items are built
here from moto's own CodeBuild and CodePipeline state (report groups: `codebuild`'s), one item
builder per type in `config_items`, with Config's quirks, and served through
GetResourceConfigHistory, BatchGetResourceConfig and SelectResourceConfig. Requests about other
resource types still go to moto.

Only the current item of a resource exists: deleted resources are simply gone (no
ResourceDeleted items), and there is no history of earlier states.

What is recorded follows the region's configuration recorder, as in AWS: a type's items exist only
while the customer managed recorder records that type (its recording group: all supported types,
an inclusion list or an exclusion list) and is recording (DescribeConfigurationRecorderStatus
`recording`). Every emulated account and region starts with the recorder pipesec's deployment
asks for: `default`, recording all supported types. Tests change it through Config's own API
(PutConfigurationRecorder, StopConfigurationRecorder, DeleteConfigurationRecorder; moto keeps the
recorder and validates those calls), e.g. `testbed.seed.stop_recording`. A type that stops being
recorded disappears from the inventory here; AWS would keep its last items, stale, which the test
bed has no history to show. moto's DescribeConfigurationRecorders and
DescribeConfigurationRecorderStatus answer with moto's own members (a `status` inside each
recorder, no `arn`, `recordingMode` or `recordingScope`); both are answered here in AWS's
documented shape.
"""

import json
import re
import uuid
from typing import Any, Callable

from moto.codebuild.models import codebuild_backends
from moto.codepipeline.models import codepipeline_backends
from moto.config.exceptions import NoSuchConfigurationRecorderException
from moto.config.models import ConfigBackend, ConfigRecorder, RecordingGroup, config_backends
from moto.config.responses import ConfigResponse
from moto.core.responses import BaseResponse
from moto.core.utils import unix_time
from moto.iam.models import iam_backends
from moto.utilities.utils import get_partition

from testbed import config_items
from testbed.services.common import (
    MOTO_ORIGINALS,
    STATE,
    error,
    ok,
    page_limit,
    paginate,
    parse_timestamp,
    request_params,
)

# AWS's documented default page size.
DEFAULT_SELECT_LIMIT = 100


def _role_id(iam: Any, role_arn: str | None) -> str | None:
    """The IAM id of a role, or None if it does not exist (moto does not always insist on it)."""
    try:
        return iam.get_role_by_arn(role_arn or "").id
    except Exception:
        return None


# --- the configuration recorder ----------------------------------------------------------------

DEFAULT_RECORDER = "default"
# Types AWS Config records only with `includeGlobalResourceTypes` when it records all supported types.
_GLOBAL_TYPE_PREFIX = "AWS::IAM::"


def _default_recorder(account: str, region: str) -> ConfigRecorder:
    """The recorder the console's one-click setup makes: all supported types, recording."""
    partition = get_partition(region)
    role = f"arn:{partition}:iam::{account}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
    group = RecordingGroup(
        all_supported=True,
        include_global_resource_types=False,
        resource_types=[],
        exclusion_by_resource_types={"resourceTypes": []},
        recording_strategy={"useOnly": "ALL_SUPPORTED_RESOURCE_TYPES"},
    )
    recorder = ConfigRecorder(role, group, name=DEFAULT_RECORDER)
    recorder.status.recording = True
    recorder.status.last_status = "SUCCESS"
    recorder.status.last_start_time = recorder.status.last_status_change_time = int(unix_time())
    return recorder


def _with_default_recorder(init: Callable) -> Callable:
    def __init__(self: ConfigBackend, region_name: str, account_id: str) -> None:
        init(self, region_name, account_id)
        self.recorders[DEFAULT_RECORDER] = _default_recorder(account_id, region_name)

    return __init__


def records(account: str, region: str, resource_type: str) -> bool:
    """Whether the region's configuration recorder records `resource_type` now."""
    recorders = config_backends[account][region].recorders.values()
    return any(_records(recorder, resource_type) for recorder in recorders)


def _records(recorder: ConfigRecorder, resource_type: str) -> bool:
    if not recorder.status.recording:
        return False
    group = recorder.recording_group
    strategy = (group.recording_strategy or {}).get("useOnly")
    if strategy == "EXCLUSION_BY_RESOURCE_TYPES":
        return resource_type not in (group.exclusion_by_resource_types or {}).get("resourceTypes", [])
    if strategy == "INCLUSION_BY_RESOURCE_TYPES" or not group.all_supported:
        return resource_type in (group.resource_types or [])
    return group.include_global_resource_types or not resource_type.startswith(_GLOBAL_TYPE_PREFIX)


def _recorder_arn(response: BaseResponse, name: str) -> str:
    """Config's recorder ARN: `configuration-recorder/<name>/<id>`, the id stable per recorder."""
    base = f"arn:{get_partition(response.region)}:config:{response.region}:{response.current_account}"
    return f"{base}:configuration-recorder/{name}/{uuid.uuid5(uuid.NAMESPACE_URL, base + name).hex[:16]}"


def _requested_recorders(response: BaseResponse) -> list[ConfigRecorder]:
    """The recorders a Describe call names (by name or ARN); all of them (the customer managed one)
    when it names none. An unknown name is NoSuchConfigurationRecorderException, as in AWS."""
    params = request_params(response)
    recorders = config_backends[response.current_account][response.region].recorders
    names = params.get("ConfigurationRecorderNames") or []
    if params.get("Arn"):
        by_arn = {_recorder_arn(response, name): name for name in recorders}
        if params["Arn"] not in by_arn:
            raise NoSuchConfigurationRecorderException(params["Arn"])
        names = [*names, by_arn[params["Arn"]]]
    for name in names:
        if name not in recorders:
            raise NoSuchConfigurationRecorderException(name)
    return [recorders[name] for name in (names or recorders)]


def describe_configuration_recorders(self: ConfigResponse) -> tuple[int, dict, str]:
    answer = []
    for recorder in _requested_recorders(self):
        group = recorder.recording_group
        answer.append({
            "arn": _recorder_arn(self, recorder.name),
            "name": recorder.name,
            "roleARN": recorder.role_arn,
            "recordingGroup": {
                "allSupported": group.all_supported,
                "includeGlobalResourceTypes": group.include_global_resource_types,
                "resourceTypes": list(group.resource_types or []),
                "exclusionByResourceTypes": {
                    "resourceTypes": list((group.exclusion_by_resource_types or {}).get("resourceTypes", [])),
                },
                "recordingStrategy": dict(group.recording_strategy or {"useOnly": "ALL_SUPPORTED_RESOURCE_TYPES"}),
            },
            "recordingMode": {"recordingFrequency": "CONTINUOUS", "recordingModeOverrides": []},
            "recordingScope": "PAID",
        })
    return ok({"ConfigurationRecorders": answer})


def describe_configuration_recorder_status(self: ConfigResponse) -> tuple[int, dict, str]:
    answer = []
    for recorder in _requested_recorders(self):
        status = recorder.status
        entry = {"arn": _recorder_arn(self, recorder.name), "name": recorder.name, "recording": status.recording}
        for key, value in (
            ("lastStartTime", status.last_start_time),
            ("lastStopTime", status.last_stop_time),
            ("lastStatus", status.last_status),
            ("lastStatusChangeTime", status.last_status_change_time),
        ):
            if value is not None:
                entry[key] = value
        answer.append(entry)
    return ok({"ConfigurationRecordersStatus": answer})


# The recorder lists a region's resources of a type by resource id (what moto holds for each), and
# builds event-model items only for the resources a request returns: paging through a large
# inventory costs each page its own items, not the whole inventory's. The listing allocates no
# object per resource, or every page of a large inventory would pay for garbage collections of
# moto's whole heap.


def _codebuild_projects(account: str, region: str) -> dict[str, Any]:
    projects = codebuild_backends[account][region].codebuild_projects.values()
    return {config_items.codebuild_resource_id(project.arn): project.project_metadata for project in projects}


def _codebuild_project_item(account: str, region: str, project: dict) -> dict:
    iam = iam_backends[account][get_partition(region)]
    return config_items.codebuild_project_item(project, account, region, _role_id(iam, project.get("serviceRole")))


def _codebuild_report_groups(account: str, region: str) -> dict[str, Any]:
    # Few, and changed by the extension itself: their items are built at once, under the lock.
    with STATE.lock:
        groups = STATE.report_groups.get((account, region), {}).values()
        items = [config_items.codebuild_report_group_item(group, account, region) for group in groups]
    return {item["resourceId"]: item for item in items}


def _codepipeline_pipelines(account: str, region: str) -> dict[str, Any]:
    pipelines = codepipeline_backends[account][region].pipelines.values()
    return {pipeline.pipeline["name"]: pipeline for pipeline in pipelines}


def _codepipeline_pipeline_item(account: str, region: str, pipeline: Any) -> dict:
    iam = iam_backends[account][get_partition(region)]
    return config_items.codepipeline_pipeline_item(
        pipeline.pipeline, pipeline.metadata, pipeline.tags, account, region,
        _role_id(iam, pipeline.pipeline.get("roleArn")),
    )


# Resource type -> (the region's resources of that type by resource id, the item of one of them).
RECORDERS: dict[str, tuple[Callable[[str, str], dict[str, Any]], Callable[[str, str, Any], dict]]] = {
    config_items.CODEBUILD_PROJECT: (_codebuild_projects, _codebuild_project_item),
    config_items.CODEBUILD_REPORT_GROUP: (_codebuild_report_groups, lambda account, region, item: item),
    config_items.CODEPIPELINE_PIPELINE: (_codepipeline_pipelines, _codepipeline_pipeline_item),
}


def _recorded(response: BaseResponse, resource_type: str) -> dict[str, Any]:
    """The region's resources of a recorded type by resource id: none while the region's
    configuration recorder does not record the type."""
    if not records(response.current_account, response.region, resource_type):
        return {}
    return RECORDERS[resource_type][0](response.current_account, response.region)


def _recorded_items(
    response: BaseResponse, resource_type: str, resource_ids: Any, recorded: dict[str, Any] | None = None
) -> list[dict]:
    """Event-model items of the region's resources of a recorded type among `resource_ids`, sorted
    by resource id (`recorded`: the type's resources by id, when the caller has them already)."""
    recorded = _recorded(response, resource_type) if recorded is None else recorded
    build = RECORDERS[resource_type][1]
    return [build(response.current_account, response.region, recorded[resource_id])
            for resource_id in sorted(set(resource_ids) & recorded.keys())]


def get_resource_config_history(self: ConfigResponse) -> tuple[int, dict, str] | str:
    params = request_params(self)
    resource_type = params.get("resourceType")
    if resource_type not in RECORDERS:
        return MOTO_ORIGINALS["get_resource_config_history"](self)
    page_limit(params.get("limit"), 10, "InvalidLimitException")
    resource_id = params.get("resourceId")
    item = next(iter(_recorded_items(self, resource_type, {resource_id})), None)
    if item is None:
        raise error(
            "ResourceNotDiscoveredException",
            f"Resource {resource_id} of resourceType:{resource_type} is unknown or has not been discovered",
        )
    # Only the current item exists; it is in range if it was captured within [earlierTime, laterTime].
    # Compare in milliseconds, the precision of the capture time a rule sends back as laterTime.
    captured_ms = round(config_items.epoch_seconds(item["configurationItemCaptureTime"]) * 1000)
    later, earlier = params.get("laterTime"), params.get("earlierTime")
    in_range = (later is None or captured_ms <= round(parse_timestamp(later, "laterTime") * 1000)) and (
        earlier is None or captured_ms >= round(parse_timestamp(earlier, "earlierTime") * 1000)
    )
    items = [config_items.event_item_to_api_item(item)] if in_range else []
    return ok({"configurationItems": items})


def batch_get_resource_config(self: ConfigResponse) -> tuple[int, dict, str]:
    keys = request_params(self).get("resourceKeys") or []
    if not 1 <= len(keys) <= 100:
        raise error(
            "ValidationException",
            "1 validation error detected: Value at 'resourceKeys' failed to satisfy constraint: "
            "Member must have length less than or equal to 100 and greater than or equal to 1",
        )
    wanted: dict[str, set[str]] = {}  # recorded resource type -> resource ids asked for
    other_keys = []
    for key in keys:
        if key.get("resourceType") in RECORDERS:
            wanted.setdefault(key["resourceType"], set()).add(key.get("resourceId"))
        else:
            other_keys.append(key)
    found = [
        config_items.event_item_to_base_item(item)
        for resource_type, ids in wanted.items()
        for item in _recorded_items(self, resource_type, ids)
    ]
    # Keys of unknown resources are left out, as Config does (unprocessedResourceKeys is for throttling).
    if other_keys:
        from_moto = config_backends[self.current_account][self.region].batch_get_resource_config(
            other_keys, self.region
        )
        found.extend(from_moto["baseConfigurationItems"])
    return ok({"baseConfigurationItems": found, "unprocessedResourceKeys": []})


# The one query form the recorder understands: named fields and a single resourceType condition.
# A small regex, not an SQL parser; anything else about a recorded type is rejected rather than
# answered wrongly.
_SELECT_BY_TYPE = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+WHERE\s+resourceType\s*=\s*'(?P<type>[^']+)'\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def select_resource_config(self: ConfigResponse) -> tuple[int, dict, str] | str:
    params = request_params(self)
    expression = params.get("Expression") or ""
    match = _SELECT_BY_TYPE.match(expression)
    if not match or match["type"] not in RECORDERS:
        if any(resource_type in expression for resource_type in RECORDERS):
            raise error(
                "InvalidExpressionException",
                "The test bed only supports: SELECT <fields> WHERE resourceType = '<type>', for "
                + ", ".join(RECORDERS),
            )
        return MOTO_ORIGINALS["select_resource_config"](self)
    fields = [field.strip() for field in match["fields"].split(",")]
    if any(not field or field == "*" for field in fields):
        raise error("InvalidExpressionException", "The test bed supports named fields only.")
    limit = page_limit(params.get("Limit"), DEFAULT_SELECT_LIMIT, "InvalidLimitException")

    recorded = _recorded(self, match["type"])
    resource_ids, next_token = paginate(sorted(recorded), lambda resource_id: [resource_id], limit,
                                        params.get("NextToken"))
    items = _recorded_items(self, match["type"], resource_ids, recorded)
    rows = [config_items.event_item_to_query_row(item) for item in items]
    body: dict[str, Any] = {
        "Results": [json.dumps(select_fields(row, fields)) for row in rows],
        "QueryInfo": {"SelectFields": [{"Name": field} for field in fields]},
    }
    if next_token:
        body["NextToken"] = next_token
    return ok(body)


def select_fields(row: dict, fields: list[str]) -> dict:
    """The selected fields of a row; a dotted field (`configuration.environment`) keeps its nesting,
    as Config's advanced query does."""
    selected: dict = {}
    for field in fields:
        value: Any = row
        path = field.split(".")
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        target = selected
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return selected


def install() -> None:
    """Puts the recorder's reads in front of moto's, which still answer for other resource types,
    and gives every region the default configuration recorder."""
    MOTO_ORIGINALS.update(
        get_resource_config_history=ConfigResponse.get_resource_config_history,
        select_resource_config=ConfigResponse.select_resource_config,
    )
    ConfigBackend.__init__ = _with_default_recorder(ConfigBackend.__init__)
    for operation in (
        get_resource_config_history,
        batch_get_resource_config,
        select_resource_config,
        describe_configuration_recorders,
        describe_configuration_recorder_status,
    ):
        setattr(ConfigResponse, operation.__name__, operation)
