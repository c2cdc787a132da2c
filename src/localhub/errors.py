"""Hubble status codes and the one error type the local Hub raises.

The codes are the Hub's own (``jina-hubble-sdk`` ``HubbleReturnStatus``); the server turns a
:class:`RpcError` into an HTTP error body or an ``error`` line of an NDJSON stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OK = 20000
PARAM_VALIDATION = 40001
DATA_STREAM_BROKEN = 40003
UNEXPECTED_MIME_TYPE = 40004
AUTHENTICATION_FAILED = 40102
AUTHENTICATION_REQUIRED = 40103
OPERATION_NOT_ALLOWED = 40301
RPC_METHOD_NOT_FOUND = 40402
REQUESTED_ENTITY_NOT_FOUND = 40403
RESOURCE_CONFLICT = 40901
TOO_LARGE_FILE = 41301
IDENTIFIER_NAMESPACE_OCCUPIED = 42202
SUBMITTED_DATA_MALFORMED = 42203
DOWNSTREAM_SERVICE_FAILURE = 42205
SERVER_INTERNAL = 50001

#: Hubble status -> (HTTP status, error name) for request-level answers.
_HTTP_STATUS: dict[int, tuple[int, str]] = {
    PARAM_VALIDATION: (400, "ParamValidationError"),
    DATA_STREAM_BROKEN: (400, "DataStreamBrokenError"),
    UNEXPECTED_MIME_TYPE: (400, "UnexpectedMimeTypeError"),
    AUTHENTICATION_FAILED: (401, "AuthenticationFailedError"),
    AUTHENTICATION_REQUIRED: (401, "AuthenticationRequiredError"),
    OPERATION_NOT_ALLOWED: (403, "OperationNotAllowedError"),
    RPC_METHOD_NOT_FOUND: (404, "RpcMethodNotFoundError"),
    REQUESTED_ENTITY_NOT_FOUND: (404, "RequestedEntityNotFoundError"),
    RESOURCE_CONFLICT: (409, "InternalResourceIdConflictError"),
    TOO_LARGE_FILE: (413, "TooLargeFileError"),
    IDENTIFIER_NAMESPACE_OCCUPIED: (422, "IdentifierNamespaceOccupiedError"),
    SUBMITTED_DATA_MALFORMED: (422, "SubmittedDataMalformedError"),
    DOWNSTREAM_SERVICE_FAILURE: (422, "DownstreamServiceFailureError"),
    SERVER_INTERNAL: (500, "ServerInternalError"),
}


@dataclass
class RpcError(Exception):
    """A refusal with a Hubble status code and a message written for the user."""

    status: int
    readable_message: str
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status}: {self.readable_message}"

    @property
    def http_status(self) -> int:
        """The HTTP status used when the error answers a whole request."""
        return _HTTP_STATUS.get(self.status, (400, ""))[0]

    @property
    def name(self) -> str:
        """The Hub's error class name, used as the technical ``message``."""
        return _HTTP_STATUS.get(self.status, (0, "RpcError"))[1] or "RpcError"

    def body(self) -> dict[str, Any]:
        """The structured error, as the Hub sends it (HTTP body or ``payload`` of a line)."""
        return {
            "code": self.http_status,
            "status": self.status,
            "message": f"{self.name}: {self.readable_message}",
            "readableMessage": self.readable_message,
            **self.extra,
        }

    def stream_line(self) -> dict[str, Any]:
        """The ``error`` line of a push stream."""
        return {"type": "error", "message": self.readable_message, "payload": self.body()}
