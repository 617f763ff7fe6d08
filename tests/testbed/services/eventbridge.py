"""Amazon EventBridge: TestEventPattern.

The deployment tests check that the templates' event patterns match the events they are meant
for. moto 5.2.5's TestEventPattern is a stub that answers nothing; here it answers with moto's
own pattern matcher, the one that routes events to rules, so a pattern that passes here is one
moto would route by. Every other EventBridge operation is moto's.
"""

import json

from moto.events.models import EventPattern
from moto.events.responses import EventsHandler

from testbed.services.common import error, ok, request_params


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
