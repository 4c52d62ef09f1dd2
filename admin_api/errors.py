"""Every error the admin API returns has one JSON shape: ``{"error": {"status", "code", "message"}}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from knowledge_base.repository import StaleEntry

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    428: "precondition_required",
    500: "internal_error",
    503: "unavailable",
    504: "timeout",
}


# What FastAPI says of a body it cannot even decode (bytes that are not UTF-8, say).
FASTAPI_UNPARSABLE_BODY = "There was an error parsing the body"


class ErrorBody(BaseModel):
    status: int
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    """Raised by routes: becomes an error response with a message that says how to fix it."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers


def error_response(
    status: int,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(
        error=ErrorBody(
            status=status, code=CODES.get(status, "error"), message=message, details=details
        )
    )
    return JSONResponse(
        jsonable_encoder(body, exclude_none=True), status_code=status, headers=headers
    )


def _validation_details(error: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "location": ".".join(str(part) for part in problem.get("loc", ())),
            "problem": problem.get("msg", ""),
        }
        for problem in error.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> JSONResponse:
        return error_response(
            error.status, error.message, details=error.details, headers=error.headers
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = str(error.detail) if error.detail else CODES.get(error.status_code, "error")
        if message == FASTAPI_UNPARSABLE_BODY:
            message = "the body is not valid JSON (it must be UTF-8 JSON)"
        headers = dict(error.headers) if error.headers else None
        return error_response(error.status_code, message, headers=headers)

    @app.exception_handler(StaleEntry)
    async def stale_entry(_request: Request, error: StaleEntry) -> JSONResponse:
        return error_response(412, str(error), headers={"ETag": f'"{error.current_version}"'})

    @app.exception_handler(IntegrityError)
    async def conflicting_write(_request: Request, _error: IntegrityError) -> JSONResponse:
        # Two writers at the same moment (PostgreSQL runs them side by side): one lost the race.
        return error_response(
            409, "a conflicting change was saved at the same moment: read again and retry"
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> JSONResponse:
        # Logged with its traceback by the server; the client gets the one error shape.
        return error_response(
            500, f"something went wrong on our side ({type(error).__name__}); it is logged"
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        details = _validation_details(error)
        if any(problem["problem"].startswith("JSON decode error") for problem in details):
            return error_response(400, "the body is not valid JSON", details=details)
        return error_response(422, "the request does not fit the API: see details", details=details)


# For the OpenAPI schema: what each error status looks like.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": code.replace("_", " ")}
    for status, code in CODES.items()
    if status in (400, 401, 403, 404, 409, 412, 413, 422, 428)
}
UNAVAILABLE_RESPONSE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorResponse, "description": "the Telegram bot is off or not ready"},
    504: {"model": ErrorResponse, "description": "not confirmed in time: it may still happen"},
}
