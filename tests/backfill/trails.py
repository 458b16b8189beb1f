"""Realistic CloudTrail buckets for the backfill tests: the AWSLogs layout, gzip files, digests."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

PROD = "111122223333"
DEV = "444455556666"
ORG = "o-a1b2c3d4e5"


def event(account: str, region: str, when: datetime, n: int, name: str = "CreateUser", **extra: Any) -> dict:
    """A CloudTrail record; CreateUser is what the tests' rule matches, DescribeInstances is noise."""
    record = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLEMALLORY",
            "arn": f"arn:aws:iam::{account}:user/mallory",
            "accountId": account,
            "userName": "mallory",
        },
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "iam.amazonaws.com" if name == "CreateUser" else "ec2.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"userName": f"user-{n}"} if name == "CreateUser" else {"maxResults": 5},
        "responseElements": None,
        "requestID": f"req-{account}-{region}-{n}",
        "eventID": f"evt-{account}-{region}-{when:%Y%m%d%H%M}-{n}",
        "readOnly": name != "CreateUser",
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    record.update(extra)
    return record


@dataclass(frozen=True)
class LogFile:
    key: str
    events: tuple[dict, ...]

    def body(self) -> bytes:
        return gzip.compress(orjson.dumps({"Records": list(self.events)}))


def log_file(
    account: str, region: str, delivered: datetime, *, org: str | None = None, alerts: int = 1, noise: int = 2
) -> LogFile:
    """One file delivered at `delivered`, its events a few minutes earlier: `alerts` CreateUser calls."""
    folder = f"AWSLogs/{org + '/' if org else ''}{account}/CloudTrail/{region}/{delivered:%Y/%m/%d}/"
    name = f"{account}_CloudTrail_{region}_{delivered:%Y%m%dT%H%MZ}_{delivered:%H%M}abc.json.gz"
    events = [event(account, region, delivered - timedelta(minutes=5), i) for i in range(alerts)]
    events += [
        event(account, region, delivered - timedelta(minutes=4), 100 + i, "DescribeInstances")
        for i in range(noise)
    ]
    return LogFile(folder + name, tuple(events))


def digest(account: str, region: str, delivered: datetime) -> tuple[str, bytes]:
    key = (
        f"AWSLogs/{account}/CloudTrail-Digest/{region}/{delivered:%Y/%m/%d}/"
        f"{account}_CloudTrail-Digest_{region}_trail_{region}_{delivered:%Y%m%dT%H%M%SZ}.json.gz"
    )
    return key, gzip.compress(b'{"awsAccountId": "' + account.encode() + b'", "logFiles": []}')


def day(n: int, hour: int = 12) -> datetime:
    """Day n of November 2026 at `hour`:00 UTC."""
    return datetime(2026, 11, n, hour, 0, tzinfo=UTC)


def standard_trail() -> list[LogFile]:
    """Two accounts (one through an organization trail), two regions, five days, two files a day."""
    files = []
    for account, org in ((PROD, None), (DEV, ORG)):
        for region in ("eu-west-1", "us-east-1"):
            for n in range(1, 6):
                for hour in (9, 15):
                    files.append(log_file(account, region, day(n, hour), org=org))
    return files


def put_bucket(s3: Any, bucket: str, files: list[LogFile], *, extra: dict[str, bytes] | None = None) -> None:
    s3.create_bucket(Bucket=bucket)
    for f in files:
        s3.put_object(Bucket=bucket, Key=f.key, Body=f.body())
    for key, body in (extra or {}).items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def write_folder(root: Path, files: list[LogFile], *, extra: dict[str, bytes] | None = None) -> Path:
    for f in files:
        path = root / f.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f.body())
    for key, body in (extra or {}).items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return root
