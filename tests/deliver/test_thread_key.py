"""Which alerts share a thread: the reference identity key, or a rule file's `group_by`."""

from __future__ import annotations

from processor.deliver.threads import thread_key
from processor.models import Alert, Destination, DestinationKind, Record, RuleRef

CHANNEL = Destination(DestinationKind.SLACK_APP, "CSEC")


def _alert(event: dict, rule: RuleRef) -> Alert:
    return Alert(Record(event, "seq"), rule, "111122223333", (CHANNEL,), None, None, event_id="seq#0")


def _event(arn: str, name: str, bucket: str) -> dict:
    return {
        "eventName": name,
        "eventSource": "s3.amazonaws.com",
        "userIdentity": {"type": "IAMUser", "arn": arn, "accountId": "111122223333"},
        "requestParameters": {"bucketName": bucket},
    }


def test_reference_key_separates_actors_and_event_names() -> None:
    rule = RuleRef("RULES[0]", "True", "RULES")
    base = thread_key(_alert(_event("arn:a", "PutBucketPolicy", "b1"), rule), CHANNEL)
    assert thread_key(_alert(_event("arn:a", "PutBucketPolicy", "b2"), rule), CHANNEL) == base
    assert thread_key(_alert(_event("arn:b", "PutBucketPolicy", "b1"), rule), CHANNEL) != base
    assert thread_key(_alert(_event("arn:a", "DeleteBucketPolicy", "b1"), rule), CHANNEL) != base


def test_group_by_replaces_the_reference_key() -> None:
    rule = RuleRef("s3.public-policy", "True", "RULES_FILE", group_by=("requestParameters.bucketName",))
    base = thread_key(_alert(_event("arn:a", "PutBucketPolicy", "b1"), rule), CHANNEL)
    # Different actors touching the same bucket share a thread; another bucket gets its own.
    assert thread_key(_alert(_event("arn:b", "DeleteBucketPolicy", "b1"), rule), CHANNEL) == base
    assert thread_key(_alert(_event("arn:a", "PutBucketPolicy", "b2"), rule), CHANNEL) != base
    other_rule = RuleRef("s3.other", "True", "RULES_FILE", group_by=("requestParameters.bucketName",))
    assert thread_key(_alert(_event("arn:a", "PutBucketPolicy", "b1"), other_rule), CHANNEL) != base
