"""A Lambda Function URL on 127.0.0.1, for tests and the demo: each HTTP request becomes a payload
format 2.0 event for a handler (as the Function URL in front of processor.interactions.handler
passes it), and the handler's answer becomes the HTTP response.

One request at a time, like one Lambda container. Header names are lower-cased and the body is
base64-encoded (`isBase64Encoded`) or passed as text, as `base64_body` says: a Function URL does
either, depending on the content type.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class FunctionUrl:
    def __init__(
        self,
        handler: Handler,
        *,
        base64_body: bool = True,
        context: Callable[[], Any] = lambda: None,
        host: str = "127.0.0.1",
    ) -> None:
        self.handler = handler
        self.base64_body = base64_body
        self.context = context  # a new Lambda context per request (e.g. a fake clock's)
        self.events: list[dict[str, Any]] = []
        self._server = HTTPServer((host, 0), _request_handler(self))
        self.url = f"http://{host}:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> FunctionUrl:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FunctionUrl:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def event(self, method: str, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        """The Function URL event (payload format 2.0) for one request."""
        raw_path, _, query = path.partition("?")
        return {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": raw_path,
            "rawQueryString": query,
            "headers": {name.lower(): value for name, value in headers.items()},
            "requestContext": {
                "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
                "timeEpoch": int(time.time() * 1000),
            },
            "body": base64.b64encode(body).decode() if self.base64_body else body.decode("utf-8", "replace"),
            "isBase64Encoded": self.base64_body,
        }


def _request_handler(url: FunctionUrl) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            event = url.event("POST", self.path, dict(self.headers.items()), body)
            url.events.append(event)
            try:
                response = url.handler(event, url.context())
            except Exception:  # as Lambda answers an invocation that raised
                response = {"statusCode": 502, "body": "Internal Server Error"}
            answer = response.get("body") or ""
            data = base64.b64decode(answer) if response.get("isBase64Encoded") else str(answer).encode()
            self.send_response(int(response.get("statusCode", 200)))
            for name, value in (response.get("headers") or {}).items():
                self.send_header(name, str(value))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST  # noqa: N815 - stdlib naming

    return Handler
