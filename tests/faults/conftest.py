"""Fault injection: endpoints that hang, refuse, drop or cut connections, and a way to watch every
DynamoDB call the handler makes (through botocore's own event hooks) against the time it had left."""

from __future__ import annotations

import socket
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import boto3
import orjson
import pytest

from processor import handler
from processor.devtools.slack_standin import Fault, SlackStandIn
from tests.conftest import free_port
from tests.deliver.conftest import set_env, table  # noqa: F401 - re-exported: a helper, a fixture
from tests.deliver.fakes import FakeClock


@dataclass(frozen=True)
class DynamoCall:
    operation: str  # e.g. "GetItem"
    remaining: float  # seconds the invocation had left when the request was sent
    timeout: float  # connect + read timeout of the client that sent it


@dataclass
class DynamoCalls:
    """Every DynamoDB request botocore sends, with the invocation's remaining time at that moment.

    `remaining` is set by the test to its Lambda context's; `cost` seconds are added to the fake
    clock per request, to stand for slow answers without waiting for them.
    """

    remaining: Callable[[], float] = lambda: float("inf")
    clock: FakeClock | None = None
    cost: float = 0.0
    calls: list[DynamoCall] = field(default_factory=list)

    def __call__(self, request: object, **_: object) -> None:
        config = request.context["client_config"]  # type: ignore[attr-defined]
        target = request.headers.get("X-Amz-Target", b"")  # type: ignore[attr-defined]
        target = target.decode() if isinstance(target, bytes) else str(target)
        attempts = (config.retries or {}).get("total_max_attempts", 1)
        timeout = (config.connect_timeout + config.read_timeout) * attempts
        self.calls.append(DynamoCall(target.rsplit(".", 1)[-1], self.remaining(), timeout))
        if self.clock is not None:
            self.clock.advance(self.cost)


@pytest.fixture
def dynamodb_calls() -> Iterator[DynamoCalls]:
    """Registered on boto3's default session, so the handler's own clients report to it."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    recorder = DynamoCalls()
    session.events.register("before-send.dynamodb", recorder)
    try:
        yield recorder
    finally:
        session.events.unregister("before-send.dynamodb", recorder)


class WatchedSlack(SlackStandIn):
    """The stand-in, noting for every request the time the invocation had left when it arrived."""

    def __init__(self, wall: Callable[[], float]) -> None:
        super().__init__(wall=wall)
        self.remaining: Callable[[], float] = lambda: float("inf")
        self.arrivals: list[tuple[str, float]] = []

    def _next_fault(self, path: str, body: bytes = b"") -> Fault | None:
        self.arrivals.append((path, self.remaining()))
        return super()._next_fault(path, body)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def watched_slack(clock: FakeClock) -> Iterator[WatchedSlack]:
    """Stamps messages with the fake wall clock, as the handler's lookups expect of Slack."""
    with WatchedSlack(clock.wall) as slack:
        yield slack


@pytest.fixture
def container() -> Iterator[Callable[..., None]]:
    """`container(timing=...)`: a fresh Lambda container for the next invocation."""
    yield handler.reset
    handler.reset()


class Tarpit:
    """A TCP endpoint that accepts connections and reads requests but never answers."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self.requests = 0
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._server.settimeout(0.05)
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            self._open.append(connection)
            threading.Thread(target=self._swallow, args=(connection,), daemon=True).start()

    def _swallow(self, connection: socket.socket) -> None:
        try:
            while data := connection.recv(65536):
                self.requests += data.count(b"HTTP/1.1\r\n")
        except OSError:
            return

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for connection in self._open:
            connection.close()
        self._server.close()


@pytest.fixture
def tarpit() -> Iterator[Tarpit]:
    pit = Tarpit()
    yield pit
    pit.close()


class ScriptedHttp:
    """An HTTP endpoint answering every request with one scripted answer: a status and JSON body
    (a DynamoDB error), or `cut=True`: headers and half the body, then the connection closes."""

    def __init__(self, status: int = 200, body: dict | None = None, *, cut: bool = False) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        script = self
        self.status, self.body, self.cut, self.requests = status, orjson.dumps(body or {}), cut, 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
                return

            def do_POST(self) -> None:  # noqa: N802 - stdlib naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                script.requests += 1
                self.send_response(script.status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(script.body)))
                self.send_header("x-amz-crc32", str(zlib.crc32(script.body)))  # as DynamoDB does
                self.end_headers()
                self.wfile.write(script.body[: len(script.body) // 2] if script.cut else script.body)
                if script.cut:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


RULES = 'event["eventName"] == "StopLogging"'


def slack_app_env(monkeypatch: pytest.MonkeyPatch, api_url: str, **extra: str) -> None:
    """The Slack app posting StopLogging alerts to channel CSEC, plus `extra` settings."""
    set_env(
        monkeypatch,
        SLACK_BOT_TOKEN="xoxb-test-token",
        DEFAULT_SLACK_CHANNEL_ID="CSEC",
        SLACK_API_URL=api_url,
        RULES=RULES,
        USE_DEFAULT_RULES="false",
        **extra,
    )


def dead_url() -> str:
    """An address where nothing listens: connections are refused."""
    return f"http://127.0.0.1:{free_port()}"


def emf(stdout: str) -> dict:
    """The batch's EMF metrics line."""
    (line,) = [orjson.loads(x) for x in stdout.splitlines() if '"_aws"' in x]
    return line
