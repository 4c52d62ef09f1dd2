"""What every request must respect before a route sees it: a ceiling on the body, so one huge
upload cannot exhaust the process's memory, and no NUL characters (PostgreSQL refuses them in
text, and no support text needs one)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin_api.errors import error_response

NUL_IN_BODY = (b"\x00", b"\\u0000")  # raw, or escaped in JSON
NUL_IN_ADDRESS = (b"\x00", b"%00")


class RequestGuard:
    """413 for a body over ``limit`` bytes (declared, or counted as it streams in); 400 for NUL
    characters in the path, the query or the body. The body is read whole first (it is bounded)
    and handed on as one piece."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send, 413, self._too_large())
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await self._refuse(scope, receive, send, 413, self._too_large())
                return
        target = scope.get("path", "").encode() + b"?" + scope.get("query_string", b"")
        if any(mark in target for mark in NUL_IN_ADDRESS) or any(
            mark in body for mark in NUL_IN_BODY
        ):
            refusal = "NUL characters are not allowed in the address or the body"
            await self._refuse(scope, receive, send, 400, refusal)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"the request body is over {self.limit / (1024 * 1024):g} MB"

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, message: str
    ) -> None:
        await error_response(status, message)(scope, receive, send)
