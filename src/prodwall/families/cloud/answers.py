"""What an AWS error says, read the same way at the vantage and at the runner: its error
code (from the body when the status line alone came back) and its request id. Standard
library only (it travels in the agent file). Never the message: it can quote a request."""

from __future__ import annotations

import re
from typing import Any

_CODE_IN_BODY = re.compile(r"<Code>(\w+)</Code>")


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return type(exc).__name__
    code = str(response.get("Error", {}).get("Code", "")) or type(exc).__name__
    if code.isdigit():  # a bare HTTP status: the body may still name the error
        named = _CODE_IN_BODY.search(str(response.get("Error", {}).get("Message", "")))
        code = named.group(1) if named else code
    return code


def request_id(source: Any) -> str:
    """AWS's request id of an answer (a dict) or of an error carrying one."""
    response = source if isinstance(source, dict) else getattr(source, "response", None)
    if not isinstance(response, dict):
        return ""
    meta = response.get("ResponseMetadata", {})
    headers = meta.get("HTTPHeaders", {})
    return str(meta.get("RequestId") or headers.get("x-amz-request-id")
               or headers.get("x-amzn-requestid") or "")
