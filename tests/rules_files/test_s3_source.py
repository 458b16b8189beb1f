"""RULES_FILE=s3://bucket/key is read at cold start through boto3 (moto's server on 127.0.0.1)."""

from __future__ import annotations

import boto3
import pytest

from processor.app import build_rules
from processor.errors import ConfigError
from processor.rules.files import load_rule_files
from processor.settings import load_settings
from tests.rules_files.helpers import RULE

ENV = {"DEFAULT_SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:111122223333:alerts"}


@pytest.fixture
def bucket(aws: str) -> str:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="acme-rules")
    s3.put_object(Bucket="acme-rules", Key="trailalert/s3.yml", Body=RULE.encode())
    s3.put_object(
        Bucket="acme-rules",
        Key="trailalert/iam.yaml",
        Body=RULE.replace("acme.s3-bucket-deleted", "acme.other").encode(),
    )
    s3.put_object(Bucket="acme-rules", Key="trailalert/README.md", Body=b"not a rule")
    return "acme-rules"


def test_an_object_is_read_and_named_by_its_url(bucket: str) -> None:
    load = load_rule_files(f"s3://{bucket}/trailalert/s3.yml")
    assert not load.problems
    (rule,) = load.rules
    assert rule.ref.origin == f"RULES_FILE s3://{bucket}/trailalert/s3.yml:1"


def test_a_prefix_reads_every_yaml_object(bucket: str) -> None:
    load = load_rule_files(f"s3://{bucket}/trailalert/")
    assert sorted(rule.ref.id for rule in load.rules) == ["acme.other", "acme.s3-bucket-deleted"]


def test_the_lambda_builds_its_rules_from_s3(bucket: str) -> None:
    rules = build_rules(
        load_settings({**ENV, "RULES_FILE": f"s3://{bucket}/trailalert/s3.yml", "USE_DEFAULT_RULES": "false"})
    )
    assert [rule.ref.id for rule in rules.rules] == ["acme.s3-bucket-deleted"]


def test_a_missing_object_fails_the_cold_start_naming_it(bucket: str) -> None:
    with pytest.raises(ConfigError, match="RULES_FILE") as caught:
        build_rules(load_settings({**ENV, "RULES_FILE": f"s3://{bucket}/nope.yml"}))
    assert f"s3://{bucket}/nope.yml" in str(caught.value)
