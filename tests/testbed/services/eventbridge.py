"""Amazon EventBridge: TestEventPattern, and delivery to SNS topic targets.

The deployment tests check that the templates' event patterns match the events they are meant
for. moto 5.2.5's TestEventPattern is a stub that answers nothing; here it answers with moto's
own pattern matcher, the one that routes events to rules, so a pattern that passes here is one
moto would route by.

moto 5.2.5's matcher does not look into arrays of objects (Security Hub's `detail.findings`). As
EventBridge documents, a field of the objects in an array is matched against the values it has in
any of them: flattened here to a list of values, and a named filter (`prefix`, ...) on such a list
matches when it matches one of them.

moto 5.2.5 routes matched events to log groups, queues and buses but raises on an SNS topic target;
here such a target gets the event (or its input transformer's output, moto's transformer) published
to the topic, which moto then delivers to the topic's subscriptions (e.g. an SQS queue). The topic's
policy and KMS key are not evaluated. Every other EventBridge operation is moto's.
"""

import json

from moto.events.models import EventPattern, Rule
from moto.events.responses import EventsHandler
from moto.events.utils import EventTemplateParser
from moto.sns.models import sns_backends
from moto.utilities.arns import parse_arn

from testbed.services.common import MOTO_ORIGINALS, error, ok, request_params


def _flatten_dict(node, prefix: str = "", result: dict | None = None) -> dict:
    result = {} if result is None else result
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict) and value:
                _flatten_dict(value, path, result)
            elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
                for item in value:
                    for flat_key, flat_value in _flatten_dict(item, path).items():
                        values = flat_value if isinstance(flat_value, list) else [flat_value]
                        result.setdefault(flat_key, []).extend(values)
            else:
                result[path] = value
    return result


def _named_filter_matches(item, pattern: dict) -> bool:
    original = MOTO_ORIGINALS["events.named_filter"]
    if isinstance(item, list) and next(iter(pattern)) != "exists":
        return any(original(value, pattern) for value in item)
    return original(item, pattern)


def _publish_to_topic(target: dict, event: dict) -> None:
    transformer = target.get("InputTransformer")
    if transformer:
        message = EventTemplateParser.parse(input_template=transformer.get("InputTemplate"),
                                            input_paths_map=transformer.get("InputPathsMap", {}), event=event)
    else:
        message = event
    arn = parse_arn(target["Arn"])
    text = message if isinstance(message, str) else json.dumps(message)
    sns_backends[arn.account][arn.region].publish(message=text, arn=target["Arn"])


def send_to_targets(self: Rule, original_event: dict, transform_input: bool = True) -> None:
    topics = [target for target in self.targets if parse_arn(target["Arn"]).service == "sns"]
    if topics and self.event_pattern.matches_event(original_event):
        for target in topics:
            _publish_to_topic(target, original_event)
    others = [target for target in self.targets if target not in topics]
    if others:
        all_targets, self.targets = self.targets, others
        try:
            MOTO_ORIGINALS["events.send_to_targets"](self, original_event, transform_input)
        finally:
            self.targets = all_targets


def test_event_pattern(self: EventsHandler) -> tuple[int, dict, str]:
    params = request_params(self)
    try:
        event = json.loads(params.get("Event") or "")
        pattern = EventPattern.load(params.get("EventPattern"))
    except ValueError as problem:
        raise error("InvalidEventPatternException", f"Event pattern is not valid: {problem}") from None
    return ok({"Result": pattern.matches_event(event)})


def install() -> None:
    EventsHandler.test_event_pattern = test_event_pattern
    MOTO_ORIGINALS["events.send_to_targets"] = Rule.send_to_targets
    MOTO_ORIGINALS["events.named_filter"] = EventPattern._does_item_match_named_filter
    EventPattern._flatten_dict = staticmethod(_flatten_dict)
    EventPattern._does_item_match_named_filter = staticmethod(_named_filter_matches)
    Rule.send_to_targets = send_to_targets
