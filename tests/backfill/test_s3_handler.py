"""The S3-notification Lambda: four notification shapes, digests, removed objects, SQS failures."""

from __future__ import annotations

import json
from urllib.parse import quote_plus

import orjson
import pytest

from processor import handler as kinesis_handler
from processor import s3_handler
from tests.backfill.test_send_and_resume import DEV_CHANNEL, SECURITY, StillClock, use_slack_app
from tests.backfill.trails import DEV, PROD, day, digest, log_file

BUCKET = "trail-bucket"


@pytest.fixture
def lambda_env(aws, slack, monkeypatch, s3):
    use_slack_app(slack, monkeypatch)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setattr(s3_handler, "_s3", None)
    s3.create_bucket(Bucket=BUCKET)
    kinesis_handler.reset(timing=StillClock().timing)
    yield slack
    kinesis_handler.reset()


def _put(s3, account=PROD, n=1):
    f = log_file(account, "eu-west-1", day(n), alerts=1)
    s3.put_object(Bucket=BUCKET, Key=f.key, Body=f.body())
    return f.key


def s3_record(key, name="ObjectCreated:Put", principal="AWS:AIDAEXAMPLE"):
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "eu-west-1",
        "eventTime": "2026-11-01T12:00:00.000Z",
        "eventName": name,
        "userIdentity": {"principalId": principal},
        "requestParameters": {"sourceIPAddress": "192.0.2.1"},
        "s3": {"bucket": {"name": BUCKET}, "object": {"key": quote_plus(key), "sequencer": "00ABC"}},
    }


def direct(*keys):
    return {"Records": [s3_record(k) for k in keys]}


def via_sns(*keys):
    message = json.dumps(direct(*keys))
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "Message": message}}]}


def via_sqs(*bodies):
    return {
        "Records": [
            {"eventSource": "aws:sqs", "messageId": f"msg-{i}", "body": json.dumps(body)}
            for i, body in enumerate(bodies)
        ]
    }


def eventbridge(key, detail_type="Object Created", requester="cloudtrail.amazonaws.com"):
    return {
        "version": "0",
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": PROD,
        "time": "2026-11-01T12:00:00Z",
        "region": "eu-west-1",
        "detail": {
            "bucket": {"name": BUCKET},
            "object": {"key": key, "sequencer": "00DEF"},
            "requester": requester,
            "source-ip-address": "198.51.100.1",
            "reason": "PutObject" if detail_type == "Object Created" else "DeleteObject",
        },
    }


@pytest.mark.parametrize(
    "shape",
    [
        direct,
        via_sns,
        lambda key: via_sqs(direct(key)),
        lambda key: via_sqs({"Type": "Notification", "Message": json.dumps(direct(key))}),
        eventbridge,
        lambda key: via_sqs(eventbridge(key)),
    ],
    ids=["s3", "sns", "sqs", "sns-to-sqs", "eventbridge", "eventbridge-to-sqs"],
)
def test_every_shape_reads_the_created_log_file(lambda_env, s3, shape):
    key = _put(s3)

    response = s3_handler.handler(shape(key), None)

    assert response.get("batchItemFailures", []) == []
    (post,) = lambda_env.posts_to(SECURITY)
    assert "CreateUser" in post.payload["text"]


def test_a_digest_is_skipped_alone_and_the_batch_goes_on(lambda_env, s3):
    digest_key, body = digest(PROD, "eu-west-1", day(1))
    s3.put_object(Bucket=BUCKET, Key=digest_key, Body=body)
    key = _put(s3)

    response = s3_handler.handler(direct(digest_key, key), None)

    assert response["processed"]["digests"] == 1 and response["processed"]["objects"] == 1
    assert len(lambda_env.posts) == 1


def test_a_removed_log_file_alerts_the_accounts_channel_naming_who_and_what(lambda_env, s3):
    key = log_file(DEV, "eu-west-1", day(1)).key
    event = {"Records": [s3_record(key, "ObjectRemoved:Delete", principal="AWS:AIDAMALLORY")]}

    s3_handler.handler(event, None)

    (post,) = lambda_env.posts_to(DEV_CHANNEL)
    text = orjson.dumps(post.payload).decode()
    assert "DeleteObject" in text and key.rsplit("/", 1)[-1] in text and "AIDAMALLORY" in text


def test_eventbridge_object_deleted_names_the_requester(lambda_env):
    key = log_file(PROD, "eu-west-1", day(1)).key
    s3_handler.handler(eventbridge(key, "Object Deleted", "arn:aws:iam::111122223333:user/mallory"), None)

    (post,) = lambda_env.posts_to(SECURITY)
    assert "user/mallory" in orjson.dumps(post.payload).decode()


def test_removed_objects_are_quiet_when_the_setting_is_off(lambda_env, monkeypatch):
    monkeypatch.setenv("S3_REMOVED_OBJECT_NOTIFICATION", "false")
    kinesis_handler.reset(timing=StillClock().timing)

    s3_handler.handler(
        {"Records": [s3_record(log_file(PROD, "eu-west-1", day(1)).key, "ObjectRemoved:Delete")]}, None
    )

    assert lambda_env.posts == []


def test_sqs_reports_only_the_message_whose_object_could_not_be_read(lambda_env, s3):
    key = _put(s3)
    missing = log_file(PROD, "eu-west-1", day(2)).key

    response = s3_handler.handler(via_sqs(direct(key), direct(missing), {"Event": "s3:TestEvent"}), None)

    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    assert len(lambda_env.posts_to(SECURITY)) == 1


def test_a_non_sqs_event_raises_after_processing_the_rest_so_lambda_retries(lambda_env, s3):
    key = _put(s3)
    missing = log_file(PROD, "eu-west-1", day(2)).key

    with pytest.raises(s3_handler.S3NotificationFailed, match="1 object"):
        s3_handler.handler(direct(missing, key), None)
    assert len(lambda_env.posts_to(SECURITY)) == 1


def test_a_non_cloudtrail_object_is_reported_not_retried(lambda_env, s3):
    s3.put_object(Bucket=BUCKET, Key="AWSLogs/x.json", Body=b'{"hello": 1}')

    response = s3_handler.handler(via_sqs(direct("AWSLogs/x.json")), None)

    assert response == {"batchItemFailures": []}
    notice = orjson.dumps(lambda_env.posts[0].payload).decode()
    assert "no 'Records' array" in notice
