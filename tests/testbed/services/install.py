"""Installs the emulated services into moto, inside the emulator process (`testbed.emulator`).

`apply()` patches moto's response classes; `with_control_routes(app)` wraps moto's WSGI application
for what is answered before moto sees it: the test bed's control routes, CodeStar Notifications and
CloudWatch over CBOR.
"""

from typing import Callable

from testbed.services import (
    cloudtrail,
    cloudwatch,
    codebuild,
    codestar_notifications,
    config,
    config_aggregator,
    config_recorder,
    control,
    eventbridge,
    s3,
    securityhub,
)
from testbed.services.common import MOTO_ORIGINALS, json_answer


def apply() -> None:
    """Installs the extension into moto (idempotent). Call before the server handles requests."""
    if MOTO_ORIGINALS:
        return
    for service in (config, config_recorder, config_aggregator, codebuild, cloudtrail, eventbridge, securityhub, s3, control):
        service.install()


def with_control_routes(app: Callable) -> Callable:
    """Wraps moto's WSGI application so /moto-api/pipesec/... reaches the test bed's control routes,
    and CodeStar Notifications and CBOR CloudWatch requests reach their services."""

    def application(environ: dict, start_response: Callable) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        signed = codestar_notifications.signed_for(environ)
        notifications = bool(signed and signed[1] == codestar_notifications.SERVICE)
        cbor = cloudwatch.is_cbor_request(environ)
        if not path.startswith(control.CONTROL_PREFIX) and not notifications and not cbor:
            return app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if cbor:
            return cloudwatch.answer_cbor(app, environ, start_response, body)
        if path.startswith(control.CONTROL_PREFIX):
            return json_answer(start_response, *control.control(environ["REQUEST_METHOD"], path, body))
        return codestar_notifications.answer(signed[0], path, body, start_response)

    return application
