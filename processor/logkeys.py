"""What a CloudTrail log file's key says: account, region, delivery time, and whether it is a digest.

CloudTrail writes `[prefix/]AWSLogs/[o-orgid/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/` +
`ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz`, and integrity digests under
`CloudTrail-Digest/`. Names are parsed leniently (some writers add a trail name or seconds), and a
name that does not parse is simply unknown: callers decide what unknown means for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

DIGEST_MARKER = "CloudTrail-Digest"
LOG_SUFFIXES = (".json.gz", ".json")

_NAME = re.compile(
    r"^(?P<account>[^_/]+)_CloudTrail_(?P<region>[^_/]+)_(?:.*_)?(?P<time>\d{8}T\d{4}(?:\d{2})?Z)"
)
_PATH_ACCOUNT = re.compile(r"(?:^|/)AWSLogs/(?:o-[a-z0-9]+/)?(?P<account>[^/]+)/")


@dataclass(frozen=True, slots=True)
class LogKey:
    """The parts of a log file name; `time` is when CloudTrail delivered the file (UTC)."""

    account: str
    region: str
    time: datetime


def is_digest(key: str) -> bool:
    """Digest files hold hashes of log files, not events: reading them as logs would only fail."""
    return DIGEST_MARKER in key


def is_log_name(key: str) -> bool:
    return key.endswith(LOG_SUFFIXES) and not is_digest(key)


def parse_log_key(key: str) -> LogKey | None:
    """Account, region and delivery time from the file name, or None when the name is not CloudTrail's."""
    match = _NAME.match(key.rsplit("/", 1)[-1])
    if match is None:
        return None
    stamp = match["time"]
    try:
        when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ" if len(stamp) == 16 else "%Y%m%dT%H%MZ")
    except ValueError:
        return None
    return LogKey(match["account"], match["region"], when.replace(tzinfo=UTC))


def account_in_key(key: str) -> str:
    """The account folder of an `AWSLogs/` key (org trails included), or "" when there is none."""
    parsed = parse_log_key(key)
    if parsed is not None:
        return parsed.account
    match = _PATH_ACCOUNT.search(key)
    return match["account"] if match else ""
