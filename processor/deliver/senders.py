"""One sender per kind of destination. Each translates an Alert into one API call and nothing more.

Senders do not retry: they classify the failure (RateLimited, Unavailable, Rejected) and the
dispatcher decides. Error texts name what the destination answered, never the webhook URL or token.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http.client import HTTPException
from typing import Any, Protocol
from urllib.error import URLError

import orjson
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from processor.deliver.errors import (
    ContentRejected,
    DeliveryError,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    Unavailable,
)
from processor.models import Alert, Destination, SlackMessage

SLACK_TIMEOUT_SECONDS = 5
# The idempotency key's place in a message's metadata, and how far back a lookup reads: Slack's
# smallest page for conversations.history (apps under its 2025 limits get at most 15 messages).
METADATA_EVENT_TYPE = "trailalert_delivery"
LOOKUP_LIMIT = 15
LOOKUP_CLOCK_SKEW_SECONDS = 60.0  # a message's ts is Slack's clock; `since` is ours

# slack_sdk's webhook client logs the full URL (a secret) at DEBUG: give it a logger that never does.
# It also logs every exception's text at ERROR, and urllib's InvalidURL quotes the URL's path (the
# secret part): only CRITICAL passes, which it never uses. WebhookSender reports failures itself.
_WEBHOOK_SDK_LOG = logging.getLogger("trailalert.deliver.webhook_sdk")
_WEBHOOK_SDK_LOG.setLevel(logging.CRITICAL)
# The same for WebClient: http.client's "Invalid header value b'Bearer <token>'" would be logged.
SLACK_SDK_LOG = logging.getLogger("trailalert.deliver.slack_sdk")
SLACK_SDK_LOG.setLevel(logging.CRITICAL)

# Slack Web API `error` values that mean "try again later" rather than "this message is wrong".
_SLACK_TRANSIENT = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
# Slack's answers (Web API `error`, webhook body) that refuse the message's content itself.
_SLACK_CONTENT_REFUSED = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long"})
_SNS_THROTTLED = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "ThrottledException"}
)


class Sender(Protocol):
    def send(self, alert: Alert, destination: Destination) -> str:
        """Deliver; return a short detail (message ts, message id). Raise DeliveryError on failure."""
        ...


class SlackAppSender:
    """Posts with the bot token through `chat.postMessage`; edits thread parents with `chat.update`.

    A post may carry an idempotency key in its message metadata, so that a post whose outcome is
    unknown (no answer after the request was sent) can be looked for before it is sent again.
    """

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def send(self, alert: Alert, destination: Destination) -> str:
        return self.post(destination.target, _require_slack(alert))

    def post(self, channel: str, message: SlackMessage, thread_ts: str | None = None) -> str:
        """Return the new message's `ts` (the thread id for replies).

        Raises OutcomeUnknown when the request was sent but no whole answer came back (a timeout, a
        connection reset or closed mid-answer): Slack may have posted it.
        """
        key = message.key
        metadata = {"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": key}} if key else None
        try:
            response = self._client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=list(message.blocks) or None,
                thread_ts=thread_ts,
                metadata=metadata,
            )
        except SlackApiError as exc:
            raise _classify_slack("chat.postMessage", exc) from None
        except URLError as exc:  # urllib raises this only while connecting or sending: not posted
            raise Unavailable(f"Slack chat.postMessage failed: {type(exc).__name__}: {exc}") from None
        except (OSError, HTTPException) as exc:  # sent; the answer timed out, was reset or cut short
            raise OutcomeUnknown(
                f"Slack chat.postMessage got no answer: {type(exc).__name__}: {exc}"
            ) from None
        except Exception as exc:  # e.g. http.client's "Invalid header value b'Bearer <token>'"
            raise Rejected(f"Slack chat.postMessage failed: {type(exc).__name__}") from None
        return str(response.get("ts", ""))

    def find_posted(self, channel: str, key: str, thread_ts: str | None, since: float) -> str | None:
        """The `ts` of a message posted with `key` at or after `since` (epoch seconds), or None.

        Looks at the LOOKUP_LIMIT messages after `since` less a margin for clock skew: the channel's
        newest top-level messages, or a thread's replies (conversations.replies, oldest first).
        Needs the history scope of the channel's type (channels:history, groups:history);
        raises DeliveryError when it cannot look.
        """
        options: dict[str, Any] = {
            "channel": channel,
            "oldest": f"{since - LOOKUP_CLOCK_SKEW_SECONDS:.6f}",
            "inclusive": True,
            "limit": LOOKUP_LIMIT,
            "include_all_metadata": True,
        }
        api = "conversations.replies" if thread_ts else "conversations.history"
        try:
            if thread_ts:
                response = self._client.conversations_replies(ts=thread_ts, **options)
            else:
                response = self._client.conversations_history(**options)
        except SlackApiError as exc:
            raise _classify_slack(api, exc) from None
        except (OSError, HTTPException) as exc:
            raise Unavailable(f"Slack {api} failed: {type(exc).__name__}: {exc}") from None
        except Exception as exc:
            raise Rejected(f"Slack {api} failed: {type(exc).__name__}") from None
        for message in response.get("messages") or ():
            metadata = message.get("metadata") if isinstance(message, dict) else None
            if isinstance(metadata, dict) and metadata.get("event_type") == METADATA_EVENT_TYPE:
                payload = metadata.get("event_payload")
                if isinstance(payload, dict) and payload.get("key") == key:
                    return str(message.get("ts", ""))
        return None

    def update(self, channel: str, ts: str, message: SlackMessage) -> None:
        try:
            self._client.chat_update(channel=channel, ts=ts, text=message.text, blocks=list(message.blocks))
        except SlackApiError as exc:
            raise _classify_slack("chat.update", exc) from None
        except OSError as exc:
            raise Unavailable(f"Slack chat.update failed: {type(exc).__name__}: {exc}") from None
        except Exception as exc:  # its text may quote the Authorization header (the token)
            raise Rejected(f"Slack chat.update failed: {type(exc).__name__}") from None


class WebhookSender:
    """Posts to an incoming webhook and checks the answer: a 429 or 404 is a failure, not a success."""

    def __init__(
        self, *, timeout: float = SLACK_TIMEOUT_SECONDS, retry_handlers: list[Any] | None = None
    ) -> None:
        self._timeout = timeout
        self._retry_handlers = retry_handlers
        self._clients: dict[str, WebhookClient] = {}

    def send(self, alert: Alert, destination: Destination) -> str:
        return self.post(destination.target, _require_slack(alert))

    def post(self, url: str, message: SlackMessage, thread_ts: str | None = None) -> str:
        """`thread_ts` is accepted for symmetry and ignored: incoming webhooks cannot thread."""
        client = self._clients.get(url)
        if client is None:
            options: dict[str, Any] = {"timeout": self._timeout, "logger": _WEBHOOK_SDK_LOG}
            if self._retry_handlers is not None:
                options["retry_handlers"] = self._retry_handlers
            client = self._clients[url] = WebhookClient(url, **options)
        try:
            response = client.send(text=message.text, blocks=list(message.blocks) or None)
        except OSError as exc:
            raise Unavailable(f"Slack webhook failed: {type(exc).__name__}") from None
        except Exception as exc:  # e.g. InvalidURL, whose text quotes the URL (a secret)
            raise Rejected(f"Slack webhook failed: {type(exc).__name__}") from None
        # The URL is a secret: say what Slack answered, never where we posted.
        answer = f"Slack webhook answered HTTP {response.status_code}: {response.body[:200]!r}"
        if response.status_code == 429:
            raise RateLimited(answer, _retry_after(response.headers))
        if response.status_code >= 500:
            raise Unavailable(answer)
        if response.status_code != 200:
            if (response.body or "").strip() in _SLACK_CONTENT_REFUSED:
                raise ContentRejected(answer)
            raise Rejected(answer)
        if (response.body or "").strip() != "ok":
            # Slack answers a literal "ok"; anything else (an HTML error page from a proxy, an
            # error word) means the message was not posted.
            raise Rejected(answer)
        return "ok"


class SnsSender:
    """Publishes the JSON message to the topic, with a boto3 client for the topic's region."""

    def __init__(self, client_factory: Any) -> None:
        self._client_factory = client_factory
        self._clients: dict[str, Any] = {}

    def send(self, alert: Alert, destination: Destination) -> str:
        if alert.sns is None:
            raise Rejected("alert has no SNS message rendered")
        region = destination.target.split(":")[3]
        client = self._clients.get(region)
        if client is None:
            client = self._clients[region] = self._client_factory(region)
        try:
            response = client.publish(TopicArn=destination.target, Message=orjson.dumps(alert.sns).decode())
        except Exception as exc:  # botocore raises ClientError, EndpointConnectionError, ...
            raise _classify_boto("SNS publish failed", exc) from None
        return str(response.get("MessageId", ""))


def _require_slack(alert: Alert) -> SlackMessage:
    if alert.slack is None:
        raise Rejected("alert has no Slack message rendered")
    return alert.slack


def _retry_after(headers: Mapping[str, Any] | None) -> float | None:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return None
    return None


def _classify_slack(api: str, exc: SlackApiError) -> DeliveryError:
    response = exc.response
    status = getattr(response, "status_code", 0) or 0
    error = response.get("error") if hasattr(response, "get") else None
    message = f"Slack {api} failed: HTTP {status}, error {error!r}"
    if status == 429 or error == "ratelimited":
        return RateLimited(message, _retry_after(getattr(response, "headers", None)))
    if status >= 500 or error in _SLACK_TRANSIENT:
        return Unavailable(message)
    if error in _SLACK_CONTENT_REFUSED:
        return ContentRejected(message)
    return Rejected(message)


def _classify_boto(prefix: str, exc: Exception) -> DeliveryError:
    message = f"{prefix}: {type(exc).__name__}: {exc}"
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in _SNS_THROTTLED or status == 429:
            return RateLimited(message)
        if status >= 500:
            return Unavailable(message)
        return Rejected(message)
    # No service answer at all: connection refused, DNS, read timeout.
    return Unavailable(message)
