"""429s are waited out, 5xx and connection errors retried with backoff, all within the time left."""

from __future__ import annotations

from pytest_httpserver import HTTPServer

from processor.devtools.slack_standin import SlackStandIn
from processor.log import DeliveryStats
from processor.models import Status
from tests.deliver.alerts import alert, app_settings, dispatcher_for
from tests.deliver.fakes import FakeClock, LambdaContext


def test_a_429_is_waited_out_and_the_message_posted_once(slack: SlackStandIn, clock: FakeClock) -> None:
    dispatcher, router = dispatcher_for(app_settings(slack.api_url), clock)
    slack.fail_next(429, retry_after=7)
    stats = DeliveryStats()
    (outcome,) = dispatcher.deliver(
        [alert(router, "evt-1")], LambdaContext(clock).remaining_seconds, stats=stats
    )
    assert outcome.status is Status.DELIVERED
    assert len(slack.posts) == 1 and slack.requests.count("/api/chat.postMessage") == 2
    assert clock.sleeps == [7]  # exactly Slack's Retry-After, on the fake clock
    assert stats.rate_limited == 1 and stats.retries == 1


def test_server_errors_are_retried_with_growing_backoff(slack: SlackStandIn, clock: FakeClock) -> None:
    dispatcher, router = dispatcher_for(app_settings(slack.api_url), clock)
    slack.fail_next(500, times=3)
    stats = DeliveryStats()
    (outcome,) = dispatcher.deliver(
        [alert(router, "evt-1")], LambdaContext(clock).remaining_seconds, stats=stats
    )
    assert outcome.status is Status.DELIVERED and len(slack.posts) == 1
    assert stats.retries == 3 and stats.rate_limited == 0
    # The first three sleeps are the backoffs (full jitter under 0.5, 1, 2 s); a pacing wait may follow.
    assert all(0 <= s <= cap for s, cap in zip(clock.sleeps[:3], (0.5, 1.0, 2.0), strict=True))


def test_persistent_5xx_fails_after_the_attempt_budget(slack: SlackStandIn, clock: FakeClock) -> None:
    dispatcher, router = dispatcher_for(app_settings(slack.api_url), clock)
    slack.fail_next(503, times=10)
    (outcome,) = dispatcher.deliver([alert(router, "evt-1")], LambdaContext(clock).remaining_seconds)
    assert outcome.status is Status.FAILED and "503" in outcome.detail
    assert slack.requests.count("/api/chat.postMessage") == 5


def test_a_retry_after_longer_than_the_time_left_fails_instead_of_waiting(
    slack: SlackStandIn, clock: FakeClock
) -> None:
    dispatcher, router = dispatcher_for(app_settings(slack.api_url), clock)
    slack.fail_next(429, retry_after=30)
    (outcome,) = dispatcher.deliver(
        [alert(router, "evt-1")], LambdaContext(clock, timeout=20).remaining_seconds
    )
    assert outcome.status is Status.FAILED and "no time left" in outcome.detail
    assert clock.sleeps == [] and not slack.posts


def test_a_429_holds_the_whole_channel_so_the_next_alert_does_not_earn_another(
    slack: SlackStandIn, clock: FakeClock
) -> None:
    dispatcher, router = dispatcher_for(app_settings(slack.api_url), clock)
    slack.fail_next(429, retry_after=5)
    outcomes = dispatcher.deliver(
        [alert(router, "evt-1"), alert(router, "evt-2")], LambdaContext(clock).remaining_seconds
    )
    assert [o.status for o in outcomes] == [Status.DELIVERED, Status.DELIVERED]
    assert slack.requests.count("/api/chat.postMessage") == 3  # one 429, then two posts


def test_connection_errors_are_retried(clock: FakeClock) -> None:
    from tests.conftest import free_port

    dead = f"http://127.0.0.1:{free_port()}/api/"
    dispatcher, router = dispatcher_for(app_settings(dead), clock)
    stats = DeliveryStats()
    (outcome,) = dispatcher.deliver(
        [alert(router, "evt-1")], LambdaContext(clock).remaining_seconds, stats=stats
    )
    assert outcome.status is Status.FAILED and "URLError" in outcome.detail
    assert stats.retries == 4  # five attempts


def test_webhook_429_is_retried_and_a_body_other_than_ok_is_a_failure(
    slack: SlackStandIn, clock: FakeClock
) -> None:
    env = {"HOOK_URL": slack.webhook_url("T1/B1/secret")}
    dispatcher, router = dispatcher_for(env, clock)
    slack.fail_next(429, retry_after=2, path="/services/")
    (first,) = dispatcher.deliver([alert(router, "evt-1")], LambdaContext(clock).remaining_seconds)
    assert first.status is Status.DELIVERED and clock.sleeps == [2]
    slack.fail_next(404, body=b"no_service", path="/services/")
    (second,) = dispatcher.deliver([alert(router, "evt-2")], LambdaContext(clock).remaining_seconds)
    assert second.status is Status.FAILED and "no_service" in second.detail
    assert "secret" not in second.detail and clock.sleeps == [2]  # a 404 is not retried


def test_a_webhook_answering_200_without_ok_is_a_failure(httpserver: HTTPServer, clock: FakeClock) -> None:
    """A captive proxy or maintenance page answers 200 with HTML: Slack did not get the alert."""
    httpserver.expect_request("/services/T1/B1/x").respond_with_data("<html>maintenance</html>", status=200)
    dispatcher, router = dispatcher_for({"HOOK_URL": httpserver.url_for("/services/T1/B1/x")}, clock)
    (outcome,) = dispatcher.deliver([alert(router, "evt-1")], LambdaContext(clock).remaining_seconds)
    assert outcome.status is Status.FAILED and "maintenance" in outcome.detail
