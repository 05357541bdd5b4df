"""Make the OpenAPI document tell the truth about errors.

FastAPI documents every 422 with its own ``HTTPValidationError`` shape, which these
services never send. This swaps it for :class:`~ticketstream.servicekit.errors.ErrorResponse`
and documents that shape as every operation's ``default`` response.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI

from ticketstream.servicekit.errors import ErrorResponse

_REF_PREFIX = "#/components/schemas/"
_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def document_error_format(app: FastAPI) -> None:
    """Patch ``app.openapi`` so its error responses use the standard error body."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_error_format(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def with_error_format(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with FastAPI's validation error shape replaced by ``ErrorResponse``."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorResponse.model_json_schema(ref_template=_REF_PREFIX + "{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorResponse"] = error_schema
    error_content = {"application/json": {"schema": {"$ref": _REF_PREFIX + "ErrorResponse"}}}

    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = {
                    "description": "Invalid input (code validation_failed)",
                    "content": error_content,
                }
            responses.setdefault(
                "default",
                {
                    "description": "Any other error, in the standard format",
                    "content": error_content,
                },
            )

    for name in _FASTAPI_ERROR_SCHEMAS:  # HTTPValidationError first: it refers to the other
        if f'"{_REF_PREFIX}{name}"' not in json.dumps(schema):
            components.pop(name, None)
    return schema
