"""Amazon CloudWatch over the Smithy RPC v2 CBOR protocol.

codepipeline-failure-alerting reads alarms with DescribeAlarms, the organization scorer puts its
scores with PutMetricData. The Rust SDK speaks only RPC v2
CBOR to CloudWatch; moto 5.2.5 does not speak CBOR, but answers CloudWatch in awsJson1_0. A CBOR
request is translated to the same request in JSON, answered by moto, and the answer encoded
back in CBOR for the operation's output shape, with botocore's CBOR codec and service model. Every
CloudWatch behaviour is moto's; this is only the wire format.

Answered in front of moto's WSGI application (`install.with_control_routes`): moto does not route
CBOR requests to a response class.
"""

import io
import json
import re
from typing import Callable

_CBOR_PATH = re.compile(r"^/service/(GraniteServiceVersion20100801)/operation/(\w+)$")


def is_cbor_request(environ: dict) -> bool:
    """Whether a WSGI request is CloudWatch over RPC v2 CBOR."""
    return bool(environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor" and _CBOR_PATH.match(environ.get("PATH_INFO", "")))


def answer_cbor(app: Callable, environ: dict, start_response: Callable, body: bytes) -> list[bytes]:
    """Answers a CBOR CloudWatch request by asking moto (`app`) the same in JSON, then encoding its
    answer in CBOR for the operation's output shape (errors: `{"__type", "message"}`)."""
    import botocore.session
    from botocore.parsers import RpcV2CBORParser
    from botocore.serialize import RpcV2CBORSerializer

    target, operation = _CBOR_PATH.match(environ["PATH_INFO"]).groups()
    request = RpcV2CBORParser().parse_data_item(io.BufferedReader(io.BytesIO(body))) if body else {}
    payload = json.dumps(request, default=lambda value: value.timestamp()).encode()
    forwarded = {
        **environ, "PATH_INFO": "/", "CONTENT_TYPE": "application/x-amz-json-1.0",
        "CONTENT_LENGTH": str(len(payload)), "HTTP_X_AMZ_TARGET": f"{target}.{operation}",
        "wsgi.input": io.BytesIO(payload),
    }
    forwarded.pop("HTTP_SMITHY_PROTOCOL", None)
    answered: dict = {}
    chunks = app(forwarded, lambda status, headers, exc_info=None: answered.update(status=status))
    status = int(answered["status"].split()[0])
    answer = json.loads(b"".join(chunks) or b"{}")
    model = botocore.session.get_session().get_service_model("cloudwatch")
    encoded = bytearray()
    output_shape = model.operation_model(operation).output_shape
    if status == 200:
        # An operation without output (PutMetricData) answers with an empty body.
        if output_shape is not None:
            RpcV2CBORSerializer()._serialize_data_item(encoded, answer, output_shape)
    else:
        code = str(answer.get("__type", "InternalFailure")).split("#")[-1]
        error = {"__type": code, "message": str(answer.get("message") or answer.get("Message") or "")}
        _cbor_text_map(encoded, error)
    start_response(answered["status"], [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                                        ("Content-Length", str(len(encoded)))])
    return [bytes(encoded)]


def _cbor_text_map(encoded: bytearray, document: dict) -> None:
    """A CBOR map of short text strings (error answers have no shape to encode them by)."""
    encoded.append(0xA0 | len(document))
    for text in (item for pair in document.items() for item in pair):
        data = text.encode()
        encoded.extend(bytes([0x78, len(data)]) if len(data) < 256 else bytes([0x79]) + len(data).to_bytes(2, "big"))
        encoded.extend(data)
