"""Sends moto's Lambda invocations to a Lambda endpoint, such as `sam local start-lambda`'s.

There the functions run as built (`sam build`: the zips, the layers, the handler strings of
template.yaml) in Lambda runtime containers, instead of being imported into this process
(lambda_runner.py). The seam is the same one: moto routes every invocation, direct or a Step
Functions task, through ``LambdaFunction._invoke_lambda``; this runner takes the functions the
endpoint serves and leaves the others (the migration step, run at the stack's start) to the
runner that was installed before it.

The endpoint speaks Lambda's Invoke API; the request goes out with urllib, which moto's mock
(it patches botocore and ``requests``) does not intercept.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any

from moto.awslambda.models import LambdaFunction

from csvflow.exceptions import ConfigurationError
from csvflow.local.lambda_runner import InvocationLog

logger = logging.getLogger(__name__)

# Lambda's own limit is 15 minutes; the endpoint may add a cold start on top.
INVOKE_TIMEOUT_SECONDS = 960


class LambdaEndpointRunner:
    """Invokes the named functions at ``endpoint_url`` (Lambda's Invoke API)."""

    def __init__(self, endpoint_url: str, function_names: Collection[str]) -> None:
        if urllib.parse.urlsplit(endpoint_url).scheme not in ("http", "https"):
            raise ConfigurationError(f"--lambda-endpoint {endpoint_url}: not an http(s) URL")
        self.endpoint_url = endpoint_url.rstrip("/")
        self.function_names = set(function_names)
        # Each invocation's wall time, by function: the first is the cold start.
        self.durations: defaultdict[str, list[float]] = defaultdict(list)
        self.log_sinks: list[Callable[[InvocationLog], None]] = []

    @contextmanager
    def installed(self) -> Iterator[LambdaEndpointRunner]:
        """Route the served functions' invocations to the endpoint for the block."""
        original = LambdaFunction._invoke_lambda

        def invoke(function: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
            if function.function_name in self.function_names:
                return self.invoke(function.function_name, event)
            return original(function, event)

        LambdaFunction._invoke_lambda = invoke  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            LambdaFunction._invoke_lambda = original  # type: ignore[method-assign]

    def check(self, *, wait_seconds: float = 60) -> None:
        """Wait until the endpoint answers as a Lambda endpoint does (`sam local start-lambda`
        takes seconds to start), or fail with one line."""
        url = f"{self.endpoint_url}/2015-03-31/functions/"
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5):  # nosec B310 - http(s), checked in __init__
                    return
            except urllib.error.HTTPError:
                return  # it answered (a listing it does not offer is still an answer)
            except (urllib.error.URLError, OSError) as error:
                if time.monotonic() >= deadline:
                    raise ConfigurationError(
                        f"no Lambda endpoint at {self.endpoint_url} ({_reason(error)}): start "
                        "one, e.g. `sam local start-lambda` (README: Run the functions in "
                        "containers)"
                    ) from error
                time.sleep(0.5)

    def invoke(self, function_name: str, event: Any) -> tuple[str, bool, str]:
        """``(payload, errored, log tail)``, as moto's ``_invoke_lambda`` returns them."""
        body = event if isinstance(event, str | bytes) else json.dumps(event)
        name = urllib.parse.quote(function_name, safe="")
        request = urllib.request.Request(
            f"{self.endpoint_url}/2015-03-31/functions/{name}/invocations",
            data=body.encode() if isinstance(body, str) else body,
            # (no X-Amz-Log-Type: Tail: `sam local start-lambda` refuses it with 501; the
            # functions' logs are in its output)
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        started = time.monotonic()
        try:
            # (nosec B310: the scheme is http or https, checked in __init__)
            with urllib.request.urlopen(request, timeout=INVOKE_TIMEOUT_SECONDS) as response:  # nosec B310
                payload = response.read().decode()
                headers = response.headers
        except urllib.error.HTTPError as error:
            # The endpoint refused the request itself (an unknown function, a bad payload):
            # the caller sees it as the function's error, as a failed Invoke is in a Task.
            message = error.read().decode(errors="replace") or str(error)
            logger.warning(
                "Lambda endpoint refused %s: HTTP %s %s", function_name, error.code, message
            )
            return _error_payload("Lambda.ServiceException", message), True, ""
        except (urllib.error.URLError, OSError) as error:
            message = f"Lambda endpoint {self.endpoint_url} unreachable: {_reason(error)}"
            logger.warning("%s: %s", function_name, message)
            return _error_payload("Lambda.ServiceException", message), True, ""
        finally:
            self.durations[function_name].append(time.monotonic() - started)
        errored = bool(headers.get("X-Amz-Function-Error")) or _is_error(payload)
        log = base64.b64decode(headers.get("X-Amz-Log-Result") or "").decode(errors="replace")
        if log:  # an endpoint that sends the log's tail: kept as the in-process runner's
            for sink in self.log_sinks:
                sink(InvocationLog(function_name, _request_id(log), log.splitlines()))
        return payload, errored, log


# The keys of the Python runtime's answer when a handler raised. `sam local start-lambda`
# sets X-Amz-Function-Error only for answers with no other keys than errorMessage,
# errorType, stackTrace and cause: the runtime interface client also sends requestId.
_ERROR_KEYS = {"errorMessage", "errorType", "stackTrace", "cause", "requestId"}


def _is_error(payload: str) -> bool:
    try:
        answer = json.loads(payload)
    except ValueError:
        return False
    return (
        isinstance(answer, dict)
        and {"errorMessage", "errorType"} <= answer.keys()
        and answer.keys() <= _ERROR_KEYS
    )


def _error_payload(error_type: str, message: str) -> str:
    return json.dumps({"errorType": error_type, "errorMessage": message})


def _request_id(log: str) -> str:
    for line in log.splitlines():
        if line.startswith("START RequestId: "):
            return line.split()[2]
    return ""


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None)
    return str(reason if reason is not None else error)
