"""Result tokens.

Config gives each rule invocation an opaque `resultToken` that PutEvaluations must send back; the
token tells Config which rule the evaluations belong to. The test bed mints its own tokens (in the
test process) and the emulator decodes them (in the server process), so a token is self-contained:
base64url of a small JSON document. No registry of minted tokens is needed across processes; a token
that does not decode to this shape was not minted by the test bed.
"""

import base64
import binascii
import json
import secrets
import time
from dataclasses import dataclass

# The result token of an event from a test harness rather than from Config: PutEvaluations takes it
# only with TestMode, and keeps nothing.
TESTMODE = "TESTMODE"

# Marks a token as ours, so that arbitrary base64 JSON is still rejected.
_KIND = "pipesec-testbed-result-token"


@dataclass(frozen=True)
class ResultToken:
    rule_name: str
    # When the test bed "invoked" the rule: served back as ConfigRuleInvokedTime.
    invoked_at: float


def mint_result_token(rule_name: str) -> str:
    """A new opaque token for one invocation of `rule_name`."""
    payload = {
        "kind": _KIND,
        "rule": rule_name,
        "invokedAt": time.time(),
        "nonce": secrets.token_hex(8),
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_result_token(token: str) -> ResultToken | None:
    """The rule a token belongs to, or None when the test bed did not mint it."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        return None
    if not isinstance(payload, dict) or payload.get("kind") != _KIND:
        return None
    rule = payload.get("rule")
    invoked_at = payload.get("invokedAt")
    if not isinstance(rule, str) or not rule or not isinstance(invoked_at, (int, float)):
        return None
    return ResultToken(rule_name=rule, invoked_at=float(invoked_at))
