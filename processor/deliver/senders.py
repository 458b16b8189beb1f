"""One sender per kind of destination. Each translates an Alert into one API call and nothing more."""

from __future__ import annotations

from typing import Any, Protocol

import orjson
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from processor.deliver.errors import DeliveryError
from processor.models import Alert, Destination, SlackMessage

SLACK_TIMEOUT_SECONDS = 10


class Sender(Protocol):
    def send(self, alert: Alert, destination: Destination) -> str:
        """Deliver; return a short detail (message ts, message id). Raise DeliveryError on failure."""
        ...


class SlackAppSender:
    """Posts with the bot token through `chat.postMessage`."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def send(self, alert: Alert, destination: Destination) -> str:
        return self.post(destination.target, _require_slack(alert))

    def post(self, channel: str, message: SlackMessage, thread_ts: str | None = None) -> str:
        try:
            response = self._client.chat_postMessage(
                channel=channel, text=message.text, blocks=list(message.blocks), thread_ts=thread_ts
            )
        except SlackApiError as exc:
            raise DeliveryError(f"Slack chat.postMessage failed: {_slack_error(exc)}") from None
        except OSError as exc:  # URLError, timeouts, connection resets
            raise DeliveryError(f"Slack chat.postMessage failed: {type(exc).__name__}: {exc}") from None
        return str(response.get("ts", ""))


class WebhookSender:
    """Posts to an incoming webhook and checks the answer: a 429 or 404 is a failure, not a success."""

    def __init__(self, *, timeout: int = SLACK_TIMEOUT_SECONDS) -> None:
        self._timeout = timeout
        self._clients: dict[str, WebhookClient] = {}

    def send(self, alert: Alert, destination: Destination) -> str:
        return self.post(destination.target, _require_slack(alert))

    def post(self, url: str, message: SlackMessage) -> str:
        client = self._clients.get(url)
        if client is None:
            client = self._clients[url] = WebhookClient(url, timeout=self._timeout)
        try:
            response = client.send(text=message.text, blocks=list(message.blocks))
        except OSError as exc:
            raise DeliveryError(f"Slack webhook failed: {type(exc).__name__}") from None
        if response.status_code != 200:
            # The URL is a secret: say what Slack answered, never where we posted.
            raise DeliveryError(
                f"Slack webhook answered HTTP {response.status_code}: {response.body[:200]!r}"
            )
        return "ok"


class SnsSender:
    """Publishes the JSON message to the topic, with a boto3 client for the topic's region."""

    def __init__(self, client_factory: Any) -> None:
        self._client_factory = client_factory
        self._clients: dict[str, Any] = {}

    def send(self, alert: Alert, destination: Destination) -> str:
        if alert.sns is None:
            raise DeliveryError("alert has no SNS message rendered")
        region = destination.target.split(":")[3]
        client = self._clients.get(region)
        if client is None:
            client = self._clients[region] = self._client_factory(region)
        try:
            response = client.publish(TopicArn=destination.target, Message=orjson.dumps(alert.sns).decode())
        except Exception as exc:  # botocore raises ClientError, EndpointConnectionError, ...
            raise DeliveryError(f"SNS publish failed: {type(exc).__name__}: {exc}") from None
        return str(response.get("MessageId", ""))


def _require_slack(alert: Alert) -> SlackMessage:
    if alert.slack is None:
        raise DeliveryError("alert has no Slack message rendered")
    return alert.slack


def _slack_error(exc: SlackApiError) -> str:
    response = exc.response
    status = getattr(response, "status_code", "?")
    error = response.get("error") if hasattr(response, "get") else None
    return f"HTTP {status}, error {error!r}"
