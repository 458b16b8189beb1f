"""AWS Lambda entry point for the Slack app's buttons: `processor.interactions.handler`, behind a
Lambda Function URL that is the app's Interactivity Request URL (docs/slack.md).

Slack posts a form-encoded `payload=<JSON>` and waits 3 seconds for an answer. Each request:
1. must carry Slack's v0 signature over its exact body, with a timestamp within 5 minutes
   (slack_requests.py): anything else is answered 401 and changes nothing;
2. acts only on button values the processor signed (action_values.py), so a crafted payload cannot
   suppress an arbitrary pattern; anything else gets an ephemeral refusal;
3. Acknowledge: notes who and when on the alert (and in its thread). Snooze similar / Mute similar:
   opens a modal showing exactly which alerts would be held back; confirming it stores the
   suppression (deliver/dynamo.py) and posts who did it, until when, in the alert's thread. Snooze,
   mute and unmute are refused (ephemerally) to anyone not in TRIAGE_ALLOWED_USERS, when it is set.

Every DynamoDB and Slack call is bounded so that the answer leaves within ANSWER_SECONDS.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import orjson

from processor.action_values import VIEW, ActionSigner, SimilarAlerts
from processor.deliver.dynamo import (
    MUTE,
    SNOOZE,
    BoundedTable,
    DynamoDbThreadStore,
    Suppression,
    SuppressionStore,
)
from processor.deliver.timing import SYSTEM, Deadline, Timing, remaining_seconds
from processor.log import configure_logging
from processor.models import SlackMessage
from processor.render import slack as blocks
from processor.render import triage
from processor.settings import InteractionSettings, load_interaction_settings
from processor.slack_requests import refusal

log = logging.getLogger("trailalert.interactions")

ANSWER_SECONDS = 2.5  # Slack shows the responder an error after 3 s without an answer
SLACK_CALL_SECONDS = 1.5  # the most one Slack call may take (less when the answer is due sooner)
_MIN_SLACK_CALL_SECONDS = 0.3
UNMUTE_PURPOSE = "unmute"
NOT_OURS = "This button was not made by this trailalert stack (its value is not signed with its key); nothing was changed."


class TimeUp(Exception):  # noqa: N818 - reads as what happened
    """No time left for another call before Slack's answer is due."""


class Interactions:
    """Built once per container: the Slack client, the table and the signer."""

    def __init__(
        self,
        settings: InteractionSettings,
        *,
        timing: Timing = SYSTEM,
        dynamodb_resource_factory: Callable[[Any], Any] | None = None,
    ) -> None:
        from slack_sdk import WebClient

        from processor.deliver.senders import SLACK_SDK_LOG

        self._settings = settings
        self._timing = timing
        self._deadline = Deadline()
        self._slack = WebClient(
            token=settings.slack_bot_token,
            base_url=settings.slack_api_url,
            timeout=SLACK_CALL_SECONDS,
            retry_handlers=[],
            logger=SLACK_SDK_LOG,
        )
        table = BoundedTable(settings.dynamodb_table_name, self._deadline, dynamodb_resource_factory)
        self._suppressions = SuppressionStore(table)
        self._threads = DynamoDbThreadStore(table)
        self._signer = ActionSigner(settings.triage_signing_key)

    def handle(self, event: dict[str, Any], remaining_seconds: Callable[[], float]) -> dict[str, Any]:
        """A Function URL event in, a Function URL response out."""
        started = self._timing.clock()
        self._deadline.start(
            lambda: min(remaining_seconds(), ANSWER_SECONDS - (self._timing.clock() - started))
        )
        body = _body(event)
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        reason = refusal(self._settings.slack_signing_secret, headers, body, self._timing.wall())
        if reason is not None:
            log.warning("refused a request that is not Slack's", extra={"reason": reason})
            return _answer(401, {"error": "invalid request signature"})
        try:
            form = parse_qs(body.decode("utf-8"), strict_parsing=True)
            payload = orjson.loads(form["payload"][0])
            if not isinstance(payload, dict):
                raise ValueError("payload is not an object")
        except (UnicodeDecodeError, ValueError, KeyError, orjson.JSONDecodeError) as exc:
            log.warning("a Slack request without an interaction payload", extra={"reason": str(exc)})
            return _answer(400, {"error": "expected a form-encoded payload"})
        kind = payload.get("type")
        if kind == "block_actions":
            return self._block_actions(payload)
        if kind == "view_submission" and _view(payload).get("callback_id") == triage.CONFIRM_CALLBACK:
            return self._confirmed(payload)
        return _answer(200)  # other interactions (a modal closed...) need nothing

    # --- buttons on an alert, or on an audit line ---

    def _block_actions(self, payload: dict[str, Any]) -> dict[str, Any]:
        click = Click.of(payload)
        if click is None:
            return _answer(200)
        try:
            if click.action_id == blocks.ACKNOWLEDGE:
                self._acknowledge(click)
            elif click.action_id == blocks.MUTE or click.action_id in blocks.SNOOZES:
                self._confirm(click, payload.get("trigger_id"))
            elif click.action_id == blocks.UNMUTE:
                self._unmute(click)
        except Exception as exc:  # the table or Slack failed: say so, change what is changed
            log.error(
                "could not act on a button",
                extra={
                    "action": click.action_id,
                    "user": click.user,
                    "reason": _reason(exc),
                },
            )
            self._tell(click, "Something failed on trailalert's side; nothing more was changed. Try again.")
        return _answer(200)

    def _acknowledge(self, click: Click) -> None:
        similar = self._signer.similar_alerts(click.value)
        if similar is None:
            return self._refuse_unsigned(click)
        note = triage.acknowledged(click.user, self._timing.wall())
        self._call(
            lambda: self._slack.chat_update(
                channel=click.channel,
                ts=click.message_ts,
                text=click.message.get("text") or "",
                blocks=triage.with_note(list(click.message.get("blocks") or []), note),
            )
        )
        try:  # kept on the thread, so that updating its "N more in thread" keeps the note
            self._threads.set_note(similar.thread, click.message_ts, note)
        except Exception as exc:  # cosmetic: the next count update would drop the note
            log.warning("could not keep the note on the thread", extra={"reason": _reason(exc)})
        self._post(click.channel, SlackMessage(note, (_section(note),)), click.thread_ts)
        log.info("acknowledged", extra={"user": click.user, "channel": click.channel, "ts": click.message_ts})

    def _confirm(self, click: Click, trigger_id: Any) -> None:
        """Open the modal that shows exactly what a snooze or mute would hold back."""
        similar = self._signer.similar_alerts(click.value)
        if similar is None:
            return self._refuse_unsigned(click)
        if not self._allowed(click.user):
            return self._tell(click, "Only the people in TRIAGE_ALLOWED_USERS may snooze or mute alerts.")
        metadata = self._signer.sign(
            VIEW,
            {
                "a": click.action_id,
                "b": base64.urlsafe_b64encode(click.value.encode()).decode(),
                "c": click.channel,
                "t": click.thread_ts,
            },
        )
        seconds = blocks.SNOOZES.get(click.action_id)
        view = triage.confirmation_view(
            action=MUTE if click.action_id == blocks.MUTE else SNOOZE,
            duration=blocks.snooze_label(click.action_id) if seconds else "",
            shown=similar.shown,
            shortened=similar.shortened,
            until=None if seconds is None else self._timing.wall() + seconds,
            metadata=metadata,
        )
        self._call(lambda: self._slack.views_open(trigger_id=str(trigger_id or ""), view=view))

    def _unmute(self, click: Click) -> None:
        data = self._signer.verify(UNMUTE_PURPOSE, click.value)
        if data is None or not isinstance(data.get("k"), str):
            return self._refuse_unsigned(click)
        if not self._allowed(click.user):
            return self._tell(click, "Only the people in TRIAGE_ALLOWED_USERS may unmute alerts.")
        removed = self._suppressions.remove(data["k"])
        if removed is None:
            return self._tell(click, "That snooze or mute is already over; nothing was changed.")
        line = triage.suppression_removed(removed, click.user)
        kept = [b for b in click.message.get("blocks") or [] if b.get("block_id") != blocks.ACTIONS_BLOCK_ID]
        self._call(
            lambda: self._slack.chat_update(
                channel=click.channel, ts=click.message_ts, text=click.message.get("text") or "", blocks=kept
            )
        )
        self._post(click.channel, line, click.thread_ts)
        log.info("unmuted", extra={"user": click.user, "suppression": removed.key})

    # --- the confirmation modal, submitted ---

    def _confirmed(self, payload: dict[str, Any]) -> dict[str, Any]:
        user = str((payload.get("user") or {}).get("id") or "")
        data = self._signer.verify(VIEW, _view(payload).get("private_metadata"))
        similar = None
        if data is not None:
            try:
                value = base64.urlsafe_b64decode(str(data.get("b", ""))).decode()
            except ValueError:
                value = ""
            similar = self._signer.similar_alerts(value)
        action = str((data or {}).get("a", ""))
        if similar is None or not (action == blocks.MUTE or action in blocks.SNOOZES):
            log.warning("refused a confirmation trailalert did not sign", extra={"user": user})
            return _update_view(NOT_OURS)
        if not self._allowed(user):
            return _update_view("Only the people in TRIAGE_ALLOWED_USERS may snooze or mute alerts.")
        try:
            self._suppress(
                similar, action, user, channel=str(data.get("c", "")), thread_ts=str(data.get("t", ""))
            )
        except Exception as exc:
            log.error(
                "could not store a suppression",
                extra={"user": user, "reason": _reason(exc)},
            )
            return _update_view("Nothing was changed: trailalert could not store it. Try again.")
        return _answer(200)

    def _suppress(
        self, similar: SimilarAlerts, action: str, user: str, *, channel: str, thread_ts: str
    ) -> None:
        now = self._timing.wall()
        seconds = blocks.SNOOZES.get(action)
        suppression = Suppression(
            key=similar.key,
            kind=SNOOZE if seconds else MUTE,
            what=similar.shown,
            by=user,
            at=now,
            until=None if seconds is None else now + seconds,
            channel=channel,
            thread_ts=thread_ts,
        )
        self._suppressions.put(suppression)
        log.info(
            "suppression made",
            extra={
                "user": user,
                "kind": suppression.kind,
                "until": suppression.until,
                "suppression": similar.key,
            },
        )
        duration = blocks.snooze_label(action) if seconds else ""
        unmute = self._signer.sign(UNMUTE_PURPOSE, {"k": similar.key})
        try:  # stored: a lost audit line must not make the responder think nothing happened
            self._post(
                channel,
                triage.suppression_made(suppression, duration=duration, unmute_value=unmute),
                thread_ts,
            )
        except Exception as exc:
            log.error("could not post the audit line", extra={"reason": _reason(exc)})

    # --- helpers ---

    def _allowed(self, user: str) -> bool:
        allowed = self._settings.triage_allowed_users
        return not allowed or user in allowed

    def _refuse_unsigned(self, click: Click) -> None:
        log.warning(
            "refused a button value trailalert did not sign",
            extra={"user": click.user, "action": click.action_id},
        )
        self._tell(click, NOT_OURS)

    def _tell(self, click: Click, text: str) -> None:
        """An ephemeral message: only the responder sees it."""
        try:
            self._call(
                lambda: self._slack.chat_postEphemeral(
                    channel=click.channel, user=click.user, text=text, thread_ts=click.thread_ts or None
                )
            )
        except Exception as exc:
            log.warning("could not tell the responder", extra={"reason": _reason(exc)})

    def _post(self, channel: str, message: SlackMessage, thread_ts: str) -> None:
        self._call(
            lambda: self._slack.chat_postMessage(
                channel=channel, text=message.text, blocks=list(message.blocks), thread_ts=thread_ts or None
            )
        )

    def _call(self, call: Callable[[], Any]) -> Any:
        """One Slack call, with a timeout that ends before the answer is due."""
        allowance = min(SLACK_CALL_SECONDS, self._deadline.remaining() - 0.1)
        if allowance < _MIN_SLACK_CALL_SECONDS:
            raise TimeUp("no time left for a Slack call before the answer is due")
        self._slack.timeout = allowance
        return call()


class Click:
    """A block_actions payload, reduced to what the handler uses."""

    def __init__(self, payload: dict[str, Any], action: dict[str, Any]) -> None:
        container = payload.get("container") or {}
        self.message: dict[str, Any] = payload.get("message") or {}
        self.action_id = str(action.get("action_id", ""))
        self.value = action.get("value")
        self.user = str((payload.get("user") or {}).get("id") or "")
        self.channel = str((payload.get("channel") or {}).get("id") or container.get("channel_id") or "")
        self.message_ts = str(self.message.get("ts") or container.get("message_ts") or "")
        self.thread_ts = str(self.message.get("thread_ts") or container.get("thread_ts") or self.message_ts)

    @classmethod
    def of(cls, payload: dict[str, Any]) -> Click | None:
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
            return None
        return cls(payload, actions[0])


def _reason(exc: Exception) -> str:
    """What failed, for the log: the exception's type and the service's error code, never its text
    (http.client quotes a malformed Authorization header, the bot token, in its message)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore: {"Error": {"Code": ...}}
        code = response.get("Error", {}).get("Code")
    else:  # slack_sdk's SlackResponse: {"ok": false, "error": ...}
        code = response.get("error") if hasattr(response, "get") else None
    return f"{type(exc).__name__}: {code}" if code else type(exc).__name__


def _body(event: dict[str, Any]) -> bytes:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(raw)
        except ValueError:
            return b""
    return raw.encode("utf-8") if isinstance(raw, str) else b""


def _view(payload: dict[str, Any]) -> dict[str, Any]:
    view = payload.get("view")
    return view if isinstance(view, dict) else {}


def _answer(status: int, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": orjson.dumps(body).decode() if body is not None else "",
    }


def _update_view(text: str) -> dict[str, Any]:
    """The answer to a submitted modal that replaces it with `text` (nothing was stored)."""
    return _answer(
        200,
        {
            "response_action": "update",
            "view": {
                "type": "modal",
                "title": {"type": "plain_text", "text": "trailalert"},
                "close": {"type": "plain_text", "text": "Close"},
                "blocks": [_section(text)],
            },
        },
    )


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


# --- the Lambda entry point ---

_app: Interactions | None = None
_app_options: dict[str, Any] = {}


def get_app() -> Interactions:
    global _app
    if _app is None:
        settings = load_interaction_settings()  # *_SECRET references are read here: once per container
        configure_logging(settings.log_level)
        _app = Interactions(settings, **_app_options)
    return _app


def reset(**app_options: Any) -> None:
    """Forget the cached app (tests and the demo change the environment; `timing=` for a fake clock)."""
    global _app, _app_options
    _app = None
    _app_options = dict(app_options)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A Function URL event (payload format 2.0) in; a Function URL response out."""
    return get_app().handle(event, remaining_seconds(context))
