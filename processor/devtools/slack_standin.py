"""A local Slack over real HTTP: Web API (chat.postMessage, chat.update, chat.postEphemeral,
conversations.history, conversations.replies, views.open) and incoming webhooks; and, as Slack does
for an app's Interactivity Request URL, signed interaction payloads sent to a URL.

slack_sdk is pointed at it by `base_url` / webhook URL, so the real client code runs. It behaves
like Slack where trailalert depends on it: a message's `metadata` is kept and returned only with
`include_all_metadata`; conversations.history lists a channel's top-level messages newest first,
conversations.replies a thread oldest first; Block Kit limits are enforced (`invalid_blocks`).

Interactions: with `interactivity_url` and `signing_secret` set, `click(ts, action_id, user=...)`
presses a button of a message it holds (a `block_actions` payload carrying the button's value and
a trigger_id), `submit(user=...)` submits the modal last opened with views.open (`view_submission`),
and `send_interaction(payload, ...)` sends any payload, signed or not, with any timestamp: each is a
form-encoded `payload=` POST signed with Slack's v0 scheme, as Slack sends it.

Faults are scripted per request: `fail_next(429, retry_after=2)`, `fail_next(500)`,
`hang_next(seconds)` (then answer, or close unserved), `refuse_matching(needle, "invalid_blocks")`,
and the ones where Slack *did* post the message but the client never hears so: `lose_answer_next()`
(connection closed without an answer, or after a delay) and `cut_answer_next()` (closed halfway
through the answer).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson

from processor.slack_requests import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

# Block Kit limits, counted in UTF-16 code units (Slack's own count is never larger).
_SECTION_TEXT, _FIELD_TEXT, _HEADER_TEXT, _MAX_BLOCKS, _MAX_FIELDS = 3000, 2000, 150, 50, 10
_BUTTON_TEXT, _BUTTON_VALUE, _ACTION_ID, _BLOCK_ID, _MAX_ELEMENTS = 75, 2000, 255, 255, 25
_VIEW_TITLE, _VIEW_METADATA, _VIEW_BLOCKS = 24, 3000, 100
_WEB_API = (
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "conversations.history",
    "conversations.replies",
    "views.open",
)


@dataclass
class Fault:
    status: int = 200
    retry_after: int | None = None
    body: bytes | None = None
    delay: float = 0.0
    error: str | None = None  # answer `{"ok": false, "error": ...}` (webhooks: HTTP 400 with it)
    accept: bool = False  # post the message first, then misbehave: the client cannot tell
    drop: bool = False  # close the connection without an answer
    cut: bool = False  # send the answer's headers and half its body, then close


@dataclass
class Post:
    """One request Slack accepted: which API, which channel or webhook, and the payload."""

    api: str
    channel: str
    payload: dict[str, Any]
    ts: str


@dataclass
class Answer:
    """What the app answered an interaction: its HTTP status and body."""

    status: int
    body: bytes

    def json(self) -> dict[str, Any]:
        return orjson.loads(self.body) if self.body.strip() else {}


@dataclass
class OpenView:
    """A modal opened with views.open, as the responder sees it until it is submitted or closed."""

    id: str
    view: dict[str, Any]
    user: str


@dataclass
class SlackStandIn:
    host: str = "127.0.0.1"
    port: int = 0
    posts: list[Post] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    wall: Callable[[], float] = time.time  # what a message's `ts` is stamped with
    history_allowed: bool = True  # False: the token lacks channels:history (missing_scope)
    interactivity_url: str | None = None  # where clicks are sent: the app's Interactivity Request URL
    signing_secret: str | None = None  # the app's signing secret, which signs what is sent there
    views: list[OpenView] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._faults: deque[tuple[str | None, Fault]] = deque()
        self._sticky: dict[str, Fault] = {}
        self._lock = threading.Lock()
        self._last_ts = 0.0
        self._triggers: dict[str, str] = {}  # trigger_id -> the user who clicked (usable once)
        self._ids = itertools.count(1)
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
        self._script(Fault(status, retry_after, body), times, path)

    def hang_next(
        self, seconds: float, *, times: int = 1, path: str | None = None, serve: bool = True
    ) -> None:
        """Delay the next `times` answers, to drive clients into their timeouts. Then serve the
        request as usual (Slack was slow), or with `serve=False` close the connection unserved."""
        self._script(Fault(delay=seconds, drop=not serve), times, path)

    def lose_answer_next(
        self, *, times: int = 1, path: str | None = "/api/chat.postMessage", after: float = 0.0
    ) -> None:
        """Post the next message(s), then close the connection without answering (after `after` s)."""
        self._script(Fault(accept=True, drop=True, delay=after), times, path)

    def cut_answer_next(self, *, times: int = 1, path: str | None = "/api/chat.postMessage") -> None:
        """Post the next message(s) and close the connection halfway through the answer."""
        self._script(Fault(accept=True, cut=True), times, path)

    def fail_matching(self, needle: str, status: int) -> None:
        """Answer every request whose body contains `needle` with `status`, until `clear_faults()`."""
        with self._lock:
            self._sticky[needle] = Fault(status)

    def refuse_matching(self, needle: str, error: str) -> None:
        """Refuse every request whose body contains `needle` with Slack error `error` (e.g. invalid_blocks)."""
        with self._lock:
            self._sticky[needle] = Fault(error=error)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._sticky.clear()

    def posts_to(self, channel: str) -> list[Post]:
        return [p for p in self.posts if p.channel == channel]

    def ephemerals(self, user: str) -> list[str]:
        """The texts of the ephemeral messages `user` was shown."""
        return [
            p.payload.get("text", "")
            for p in self.posts
            if p.api == "chat.postEphemeral" and p.payload.get("user") == user
        ]

    # --- interactions: what Slack sends to the app's Interactivity Request URL ---

    def click(self, channel: str, ts: str, action_id: str, *, user: str = "U0RESPONDER") -> Answer:
        """`user` presses the button `action_id` of message `ts`: a block_actions payload with its value."""
        message = next((m for m in self.messages(channel) if m["ts"] == ts), None)
        if message is None:
            raise LookupError(f"no message {ts} in {channel}")
        found = [
            (block, element)
            for block in message.get("blocks") or []
            for element in block.get("elements") or []
            if block.get("type") == "actions" and element.get("action_id") == action_id
        ]
        if not found:
            raise LookupError(f"message {ts} has no button {action_id}")
        block, button = found[0]
        trigger = f"trigger-{next(self._ids)}"
        with self._lock:
            self._triggers[trigger] = user
        container = {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False}
        if message.get("thread_ts"):
            container["thread_ts"] = message["thread_ts"]
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": "T0STANDIN"},
            "api_app_id": "A0STANDIN",
            "team": {"id": "T0STANDIN"},
            "container": container,
            "trigger_id": trigger,
            "channel": {"id": channel, "name": channel.lower()},
            "message": message,
            "response_url": f"http://{self.host}:{self.port}/actions/{trigger}",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": block.get("block_id", ""),
                    "text": button.get("text"),
                    "value": button.get("value", ""),
                    "action_ts": f"{self.wall():.6f}",
                }
            ],
        }
        return self.send_interaction(payload)

    def submit(self, *, user: str = "U0RESPONDER") -> Answer:
        """`user` submits the modal last opened for them: a view_submission payload."""
        view = next((v for v in reversed(self.views) if v.user == user), None)
        if view is None:
            raise LookupError(f"no modal is open for {user}")
        payload = {
            "type": "view_submission",
            "user": {"id": user, "username": user.lower(), "team_id": "T0STANDIN"},
            "api_app_id": "A0STANDIN",
            "team": {"id": "T0STANDIN"},
            "trigger_id": f"trigger-{next(self._ids)}",
            "view": {**view.view, "id": view.id, "state": {"values": {}}},
        }
        answer = self.send_interaction(payload)
        action = answer.json().get("response_action") if answer.status == 200 else None
        with self._lock:
            if answer.status == 200 and action in (None, "clear"):
                self.views.remove(view)  # closed, as Slack closes it
            elif action == "update":
                view.view = answer.json()["view"]
        return answer

    def send_interaction(
        self,
        payload: dict[str, Any],
        *,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> Answer:
        """POST `payload` to the Interactivity Request URL as Slack does, signed with `secret` (the
        app's signing secret unless given) at `timestamp` (now unless given)."""
        if self.interactivity_url is None or (secret is None and self.signing_secret is None):
            raise RuntimeError("set interactivity_url and signing_secret first")
        body = urlencode({"payload": orjson.dumps(payload).decode()}).encode()
        sent = str(int(self.wall()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            TIMESTAMP_HEADER: sent,
            SIGNATURE_HEADER: signature(secret or self.signing_secret or "", sent, body),
        }
        request = urllib.request.Request(  # noqa: S310 - the app's URL, given by the test or the demo
            self.interactivity_url, data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - a local URL
                return Answer(response.status, response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read())

    def _open_view(self, payload: dict[str, Any]) -> dict[str, Any]:
        view = payload.get("view")
        if isinstance(view, str):
            with contextlib.suppress(orjson.JSONDecodeError):
                view = orjson.loads(view)
        with self._lock:
            user = self._triggers.pop(str(payload.get("trigger_id", "")), None)
        if user is None:
            return {"ok": False, "error": "expired_trigger_id"}
        problem = view_problem(view)
        if problem:
            return {"ok": False, "error": problem}
        opened = OpenView(f"V{next(self._ids):08d}", view, user)
        with self._lock:
            self.views.append(opened)
        return {"ok": True, "view": {**view, "id": opened.id}}

    def _script(self, fault: Fault, times: int, path: str | None) -> None:
        with self._lock:
            for _ in range(times):
                self._faults.append((path, fault))

    def _next_fault(self, path: str, body: bytes = b"") -> Fault | None:
        with self._lock:
            for needle, fault in self._sticky.items():
                if needle.encode() in body:
                    return fault
            for index, (wanted, fault) in enumerate(self._faults):
                if wanted is None or path.startswith(wanted):
                    del self._faults[index]
                    return fault
        return None

    def _accept(self, api: str, channel: str, payload: dict[str, Any]) -> str:
        with self._lock:
            if api == "chat.update":
                ts = str(payload.get("ts", ""))
            else:  # unique and increasing within the stand-in, like Slack's per channel
                self._last_ts = max(self.wall(), self._last_ts + 0.000001)
                ts = f"{self._last_ts:.6f}"
            self.posts.append(Post(api, channel, payload, ts))
            return ts

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The channel's messages as Slack stores them, oldest first, chat.update applied."""
        by_ts: dict[str, dict[str, Any]] = {}
        with self._lock:
            posts = [p for p in self.posts if p.channel == channel]
        for post in posts:
            if post.api == "chat.postMessage":
                message = {"type": "message", "ts": post.ts, "text": post.payload.get("text", "")}
                message["blocks"] = post.payload.get("blocks") or []
                if post.payload.get("thread_ts"):
                    message["thread_ts"] = post.payload["thread_ts"]
                if isinstance(post.payload.get("metadata"), dict):
                    message["metadata"] = post.payload["metadata"]
                by_ts[post.ts] = message
            elif post.api == "chat.update" and post.ts in by_ts:
                by_ts[post.ts].update(
                    text=post.payload.get("text", ""), blocks=post.payload.get("blocks") or []
                )
        return list(by_ts.values())

    def _history(self, params: dict[str, Any], thread_ts: str | None) -> dict[str, Any]:
        if not self.history_allowed:
            return {"ok": False, "error": "missing_scope", "needed": "channels:history,groups:history"}
        channel = str(params.get("channel", ""))
        messages = self.messages(channel)
        if thread_ts is None:  # top-level messages (thread parents included), newest first
            listed = [m for m in reversed(messages) if m.get("thread_ts", m["ts"]) == m["ts"]]
        else:  # the parent, then its replies, oldest first
            listed = [m for m in messages if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts]
            if not listed:
                return {"ok": False, "error": "thread_not_found"}
        listed = [m for m in listed if _in_window(m["ts"], params)]
        limit = max(1, min(int(params.get("limit") or 100), 999))
        metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        page = [m if metadata else {k: v for k, v in m.items() if k != "metadata"} for m in listed[:limit]]
        return {"ok": True, "messages": page, "has_more": len(listed) > limit}


def _in_window(ts: str, params: dict[str, Any]) -> bool:
    inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
    value = float(ts)
    oldest, latest = params.get("oldest"), params.get("latest")
    if oldest not in (None, "") and (value < float(oldest) or (value == float(oldest) and not inclusive)):
        return False
    return not (
        latest not in (None, "") and (value > float(latest) or (value == float(latest) and not inclusive))
    )


def block_problem(blocks: Any) -> str | None:
    """Why Slack would refuse these blocks (`invalid_blocks`), or None when it would take them."""
    if blocks in (None, ""):
        return None
    if not isinstance(blocks, list) or len(blocks) > _MAX_BLOCKS:
        return "invalid_blocks"
    for block in blocks:
        if not isinstance(block, dict):
            return "invalid_blocks"
        limit = _HEADER_TEXT if block.get("type") == "header" else _SECTION_TEXT
        elements = [e for e in block.get("elements") or [] if e.get("type") in ("mrkdwn", "plain_text")]
        texts = [(block.get("text"), limit)] + [(e, _SECTION_TEXT) for e in elements]
        texts += [(f, _FIELD_TEXT) for f in block.get("fields") or []]
        if len(block.get("fields") or []) > _MAX_FIELDS or len(str(block.get("block_id", ""))) > _BLOCK_ID:
            return "invalid_blocks"
        if block.get("type") == "actions" and _actions_problem(block.get("elements")):
            return "invalid_blocks"
        for text_object, most in texts:
            text = text_object.get("text") if isinstance(text_object, dict) else None
            if text_object is not None and (not isinstance(text, str) or not 0 < _units(text) <= most):
                return "invalid_blocks"
    return None


def _actions_problem(elements: Any) -> bool:
    """Buttons as Slack takes them: at most 25, text 75, value 2000, action_id 255 characters."""
    if not isinstance(elements, list) or not 0 < len(elements) <= _MAX_ELEMENTS:
        return True
    for element in elements:
        text = (element.get("text") or {}).get("text", "")
        if not 0 < _units(text) <= _BUTTON_TEXT or len(str(element.get("action_id", ""))) > _ACTION_ID:
            return True
        if len(str(element.get("value", ""))) > _BUTTON_VALUE:
            return True
    return False


def view_problem(view: Any) -> str | None:
    """Why views.open would refuse this modal (`invalid_arguments`), or None."""
    if not isinstance(view, dict) or view.get("type") != "modal":
        return "invalid_arguments"
    for key in ("title", "submit", "close"):
        text = (view.get(key) or {}).get("text", "") if view.get(key) is not None else "x"
        if not 0 < _units(text) <= _VIEW_TITLE:
            return "invalid_arguments"
    if len(str(view.get("private_metadata", ""))) > _VIEW_METADATA:
        return "invalid_arguments"
    blocks = view.get("blocks") or []
    if len(blocks) > _VIEW_BLOCKS or block_problem(blocks[:_MAX_BLOCKS]):
        return "invalid_arguments"
    return None


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _handler_for(standin: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            self.do_POST()

        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            standin.requests.append(self.path)
            fault = standin._next_fault(self.path, body)
            if fault and fault.delay and not fault.accept:
                time.sleep(fault.delay)
            if fault and fault.drop and not fault.accept:
                return self._misbehave(fault, 0, b"", "")
            if fault and fault.error:
                return self._refuse(fault.error)
            if fault and fault.status != 200:
                return self._answer_fault(fault)
            url = urlsplit(self.path)
            payload = {k: v[0] for k, v in parse_qs(url.query).items()}
            payload.update(_parse(body, self.headers.get("Content-Type", "")))
            status, data, content_type = self._serve(url.path, payload)
            if fault and fault.accept:
                return self._misbehave(fault, status, data, content_type)
            return self._send(status, data, content_type)

        def _serve(self, path: str, payload: dict[str, Any]) -> tuple[int, bytes, str]:
            if path.startswith("/services/"):
                problem = block_problem(payload.get("blocks"))
                if problem:
                    return 400, problem.encode(), "text/plain"
                standin._accept("webhook", path.removeprefix("/services/"), payload)
                return 200, b"ok", "text/plain"
            api = path.removeprefix("/api/")
            if api not in _WEB_API:
                return _json({"ok": False, "error": "unknown_method"})
            if not self.headers.get("Authorization", "").startswith("Bearer "):
                return _json({"ok": False, "error": "not_authed"})
            if api == "views.open":
                return _json(standin._open_view(payload))
            channel = str(payload.get("channel", ""))
            if not channel:
                return _json({"ok": False, "error": "channel_not_found"})
            if api == "conversations.history":
                return _json(standin._history(payload, None))
            if api == "conversations.replies":
                return _json(standin._history(payload, str(payload.get("ts", ""))))
            problem = block_problem(payload.get("blocks"))
            if problem:
                return _json({"ok": False, "error": problem})
            ts = standin._accept(api, channel, payload)
            return _json({"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts}})

        def _misbehave(self, fault: Fault, status: int, data: bytes, content_type: str) -> None:
            """The client gets no usable answer (whether or not the request was served)."""
            if fault.delay and fault.accept:
                time.sleep(fault.delay)
            if fault.cut:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)  # socket.SHUT_RDWR: the client sees the connection end

        def _refuse(self, error: str) -> None:
            if self.path.startswith("/services/"):
                return self._send(400, error.encode(), "text/plain")
            return self._send(*_json({"ok": False, "error": error}))

        def _answer_fault(self, fault: Fault) -> None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            default = b'{"ok": false, "error": "ratelimited"}' if fault.status == 429 else b"upstream error"
            self._send(fault.status, fault.body or default, "application/json", headers)

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


def _json(data: dict[str, Any]) -> tuple[int, bytes, str]:
    return 200, orjson.dumps(data), "application/json"


def _parse(body: bytes, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    for key in ("blocks", "attachments", "metadata", "view"):
        if isinstance(form.get(key), str):
            with contextlib.suppress(orjson.JSONDecodeError):
                form[key] = orjson.loads(form[key])
    return form
