"""What every request must respect before a route sees it: a valid token for the API (checked
before a byte of the body is read, so a stranger's upload costs nothing), a ceiling on the body
(small for ordinary JSON, large only for routes that take files), and no NUL characters
(PostgreSQL refuses them in text, and no support text needs one)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin_api.deps import TOKEN_STATE, authenticate_caller, bearer_secret
from admin_api.errors import ApiError, error_response

NUL_IN_BODY = (b"\x00", b"\\u0000")  # raw, or escaped in JSON
NUL_IN_ADDRESS = (b"\x00", b"%00")


class BodyTooLarge(Exception):
    """The body grew past its ceiling while it was being read."""


class RequestGuard:
    """For paths under ``api_prefix``: 401 unless the bearer token is valid, before the body is
    read (the checked token is left in the request's state for the route). For every path: 413
    for a body over its ceiling (declared, or counted as it streams in), 400 for NUL characters
    in the address.

    Bodies of ``file_paths`` (file uploads) may have ``file_limit`` bytes and are checked by
    their parser (a file with a NUL is a file problem, a 422); API bodies elsewhere may have
    ``limit`` bytes and are refused with 400 for a NUL; outside the API (health, metrics, the
    Telegram webhook, which must accept whatever a customer typed) only the ceiling applies.
    The body is read whole (it is bounded), in linear time, and handed on as one piece.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        sessions: async_sessionmaker[AsyncSession],
        limit: int,
        file_limit: int,
        file_paths: Collection[str],
        api_prefix: str,
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.limit = limit
        self.file_limit = file_limit
        self.file_paths = frozenset(file_paths)
        self.api_prefix = api_prefix.rstrip("/") + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        target = path.encode() + b"?" + scope.get("query_string", b"")
        if any(mark in target for mark in NUL_IN_ADDRESS):
            refusal = "NUL characters are not allowed in the address"
            await error_response(400, refusal)(scope, receive, send)
            return
        headers = Headers(scope=scope)
        in_api = path.startswith(self.api_prefix)
        if in_api:
            try:
                token = await authenticate_caller(
                    self.sessions, bearer_secret(headers.get("authorization"))
                )
            except ApiError as error:
                response = error_response(error.status, error.message, headers=error.headers)
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})[TOKEN_STATE] = token
        is_file = path in self.file_paths
        limit = self.file_limit if is_file else self.limit
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await error_response(413, _too_large(limit))(scope, receive, send)
            return
        try:
            body = await read_body(receive, limit)
        except BodyTooLarge:
            await error_response(413, _too_large(limit))(scope, receive, send)
            return
        if body is None:  # the client went away
            return
        if in_api and not is_file and any(mark in body for mark in NUL_IN_BODY):
            refusal = "NUL characters are not allowed in the address or the body"
            await error_response(400, refusal)(scope, receive, send)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, in time linear in its size; :class:`BodyTooLarge` past ``limit`` bytes,
    None when the client went away."""
    body = bytearray()
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return None
        body += message.get("body", b"")
        if len(body) > limit:
            raise BodyTooLarge
        more = message.get("more_body", False)
    return bytes(body)


def _too_large(limit: int) -> str:
    return f"the request body is over {limit / (1024 * 1024):g} MB"
