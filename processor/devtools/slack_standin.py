"""A local Slack over real HTTP: Web API (chat.postMessage, chat.update) and incoming webhooks.

slack_sdk is pointed at it by `base_url` / webhook URL, so the real client code runs. Faults are
scripted per request: `fail_next(429, retry_after=2)`, `fail_next(500)`, `hang_next(seconds)`.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import orjson


@dataclass
class Fault:
    status: int = 200
    retry_after: int | None = None
    body: bytes | None = None
    delay: float = 0.0


@dataclass
class Post:
    """One request Slack accepted: which API, which channel or webhook, and the payload."""

    api: str
    channel: str
    payload: dict[str, Any]
    ts: str


@dataclass
class SlackStandIn:
    host: str = "127.0.0.1"
    port: int = 0
    posts: list[Post] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._faults: deque[tuple[str | None, Fault]] = deque()
        self._sticky: dict[str, int] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._server = ThreadingHTTPServer((self.host, self.port), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api/"

    def webhook_url(self, name: str = "T000/B000/XXXX") -> str:
        return f"http://{self.host}:{self.port}/services/{name}"

    def start(self) -> SlackStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        body: bytes | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next `times` requests (to `path`, if given) with this status."""
        with self._lock:
            for _ in range(times):
                self._faults.append((path, Fault(status, retry_after, body)))

    def hang_next(self, seconds: float, *, times: int = 1, path: str | None = None) -> None:
        """Delay the next `times` answers, to drive clients into their timeouts."""
        with self._lock:
            for _ in range(times):
                self._faults.append((path, Fault(delay=seconds)))

    def fail_matching(self, needle: str, status: int) -> None:
        """Answer every request whose body contains `needle` with `status`, until `clear_faults()`."""
        with self._lock:
            self._sticky[needle] = status

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._sticky.clear()

    def posts_to(self, channel: str) -> list[Post]:
        return [p for p in self.posts if p.channel == channel]

    def _next_fault(self, path: str, body: bytes = b"") -> Fault | None:
        with self._lock:
            for needle, status in self._sticky.items():
                if needle.encode() in body:
                    return Fault(status)
            for index, (wanted, fault) in enumerate(self._faults):
                if wanted is None or path.startswith(wanted):
                    del self._faults[index]
                    return fault
        return None

    def _accept(self, api: str, channel: str, payload: dict[str, Any]) -> str:
        with self._lock:
            ts = f"{1700000000 + next(self._ts)}.000100"
            if api == "chat.update":
                ts = str(payload.get("ts", ts))
            self.posts.append(Post(api, channel, payload, ts))
            return ts


def _handler_for(standin: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            standin.requests.append(self.path)
            fault = standin._next_fault(self.path, body)
            if fault and fault.delay:
                time.sleep(fault.delay)
            if fault and fault.status != 200:
                return self._answer_fault(fault)
            payload = _parse(body, self.headers.get("Content-Type", ""))
            if self.path.startswith("/services/"):
                standin._accept("webhook", self.path.removeprefix("/services/"), payload)
                return self._send(200, b"ok", "text/plain")
            api = self.path.removeprefix("/api/").split("?")[0]
            if api not in ("chat.postMessage", "chat.update"):
                return self._json({"ok": False, "error": "unknown_method"})
            if not self.headers.get("Authorization", "").startswith("Bearer "):
                return self._json({"ok": False, "error": "not_authed"})
            channel = str(payload.get("channel", ""))
            if not channel:
                return self._json({"ok": False, "error": "channel_not_found"})
            ts = standin._accept(api, channel, payload)
            return self._json({"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts}})

        def _answer_fault(self, fault: Fault) -> None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            default = b'{"ok": false, "error": "ratelimited"}' if fault.status == 429 else b"upstream error"
            self._send(fault.status, fault.body or default, "application/json", headers)

        def _json(self, data: dict[str, Any]) -> None:
            self._send(200, orjson.dumps(data), "application/json")

        def _send(
            self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _parse(body: bytes, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    for key in ("blocks", "attachments"):
        if isinstance(form.get(key), str):
            with contextlib.suppress(orjson.JSONDecodeError):
                form[key] = orjson.loads(form[key])
    return form
