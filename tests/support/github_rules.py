"""GitHub's rules for the double: its API description, and the limits it enforces beyond it.

The description is the subset of `@octokit/openapi` in `github_openapi.json` (written by
`scripts/github_api_subset.py`). Every request is matched to an operation (path and method)
and its JSON body validated against the operation's schema (OpenAPI 3.0, `nullable` and all,
with `openapi-schema-validator`); every answer of the double is validated against the
operation's response schema. The limits GitHub enforces that the description does not say
(or says in other units) are checked here too, with GitHub's own 422 words.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator

DESCRIPTION = Path(__file__).with_name("github_openapi.json")
DOCS = "https://docs.github.com/rest"

#: A commit status's description, in characters.
STATUS_DESCRIPTION_CHARACTERS = 140
#: A check run's output.summary and output.text, in bytes (GitHub's 422 says "bytesize").
OUTPUT_BYTES = 65535
#: Annotations in one check-run request.
ANNOTATIONS_PER_REQUEST = 50
#: An annotation's message (bytes: 64 KB) and title (characters).
ANNOTATION_MESSAGE_BYTES = 65535
ANNOTATION_TITLE_CHARACTERS = 255
#: An issue comment's body, in characters.
COMMENT_CHARACTERS = 65536


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the template, `/repos/{owner}/{repo}/…`
    operation_id: str
    request_body: dict[str, Any] | None
    responses: dict[str, Any]
    pattern: re.Pattern[str]


@cache
def operations() -> tuple[Operation, ...]:
    data = json.loads(DESCRIPTION.read_text(encoding="utf-8"))
    found = []
    for op in data["operations"]:
        regex = re.sub(r"\{[^}]+\}", r"([^/]+)", op["path"])
        found.append(
            Operation(
                op["method"],
                op["path"],
                op["operationId"],
                op["requestBody"],
                op["responses"],
                re.compile(regex),
            )
        )
    return tuple(found)


def operation_for(method: str, path: str) -> Operation | None:
    """The described operation `method path` (the path without the API's prefix)."""
    for op in operations():
        if op.method == method and op.pattern.fullmatch(path):
            return op
    return None


def schema_errors(schema: dict[str, Any] | None, value: Any) -> list[str]:
    """Where `value` breaks `schema` (OpenAPI 3.0), as readable lines."""
    if schema is None:
        return []
    validator = OAS30Validator(schema)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(body)'}: {error.message[:300]}"
        for error in validator.iter_errors(value)
    ]


def limit_errors(operation_id: str, body: Any) -> list[dict[str, str]]:
    """The limits GitHub enforces beyond its description, as GitHub's 422 `errors` items."""
    problems: list[dict[str, str]] = []

    def refuse(resource: str, field: str, message: str) -> None:
        problems.append(
            {"resource": resource, "code": "custom", "field": field, "message": message}
        )

    if not isinstance(body, dict):
        return problems
    if operation_id == "repos/create-commit-status":
        description = body.get("description")
        if isinstance(description, str) and len(description) > STATUS_DESCRIPTION_CHARACTERS:
            refuse(
                "Status",
                "description",
                f"description is too long (maximum is {STATUS_DESCRIPTION_CHARACTERS} characters)",
            )
    if operation_id in ("checks/create", "checks/update"):
        output = body.get("output")
        if isinstance(output, dict):
            for field in ("summary", "text"):
                text = output.get(field)
                if isinstance(text, str) and len(text.encode("utf-8")) > OUTPUT_BYTES:
                    refuse(
                        "CheckRun",
                        f"output.{field}",
                        f"{field} exceeds a maximum bytesize of {OUTPUT_BYTES}",
                    )
            annotations = output.get("annotations") or []
            if isinstance(annotations, list):
                if len(annotations) > ANNOTATIONS_PER_REQUEST:
                    refuse(
                        "CheckRun",
                        "output.annotations",
                        f"a request takes at most {ANNOTATIONS_PER_REQUEST} annotations",
                    )
                for item in annotations:
                    if not isinstance(item, dict):
                        continue
                    message = item.get("message")
                    if isinstance(message, str) and (
                        len(message.encode("utf-8")) > ANNOTATION_MESSAGE_BYTES
                    ):
                        refuse(
                            "CheckRun",
                            "output.annotations.message",
                            f"message exceeds a maximum bytesize of {ANNOTATION_MESSAGE_BYTES}",
                        )
                    title = item.get("title")
                    if isinstance(title, str) and len(title) > ANNOTATION_TITLE_CHARACTERS:
                        refuse(
                            "CheckRun",
                            "output.annotations.title",
                            "title is too long (maximum is "
                            f"{ANNOTATION_TITLE_CHARACTERS} characters)",
                        )
    if operation_id in ("issues/create-comment", "issues/update-comment"):
        text = body.get("body")
        if isinstance(text, str) and len(text) > COMMENT_CHARACTERS:
            refuse(
                "IssueComment",
                "body",
                f"body is too long (maximum is {COMMENT_CHARACTERS} characters)",
            )
    return problems


def validation_failed(errors: list[dict[str, str]]) -> dict[str, Any]:
    """GitHub's 422 body."""
    return {
        "message": "Validation Failed",
        "errors": errors,
        "documentation_url": DOCS,
        "status": "422",
    }


def skeleton(schema: dict[str, Any] | None) -> Any:
    """A value with every required field of `schema`, each of its type (for answers that must
    carry what GitHub's carry); the double overlays its own state on it."""
    if not schema:
        return None
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = skeleton(part)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return skeleton(schema[key][0])
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: skeleton(props.get(name, {})) for name in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if kind == "string":
        return _string(schema.get("format", ""))
    return None


def filled(schema: dict[str, Any] | None, own: Any) -> Any:
    """`own` (the double's values) with every required field `schema` asks for added, in
    nested objects and in each item of a list too; the double's own values win."""
    if not schema:
        return own
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = filled(part, own)
            if isinstance(value, dict):
                merged.update(value)
        return merged if isinstance(own, dict) else own
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return filled(schema[key][0], own)
    if isinstance(own, list):
        return [filled(schema.get("items"), item) for item in own]
    if isinstance(own, dict):
        props = schema.get("properties", {})
        base = skeleton(schema)
        result = dict(base) if isinstance(base, dict) else {}
        for key, value in own.items():
            result[key] = filled(props.get(key), value)
        return result
    return own


def _string(form: str) -> str:
    if form == "date-time":
        return "2026-01-01T00:00:00Z"
    if form == "uri":
        return "https://github.example/x"
    if form == "email":
        return "octocat@github.example"
    return "x"


def answer_errors(operation: Operation, status: int, body: Any) -> list[str]:
    """Where an answer of the double breaks the operation's response schema."""
    schema = operation.responses.get(str(status))
    return schema_errors(schema, body) if schema else []
