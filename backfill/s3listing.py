"""Listing a CloudTrail bucket without listing all of it.

The layout is `[prefix/]AWSLogs/[o-orgid/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/file`. Accounts,
organisation ids and regions that the filters do not fix are discovered with `Delimiter="/"`
listings (one request per level, not per object). Under a region the day folders sort in time
order, so a date range is one listing that starts after the first day (`StartAfter`) and stops at
the first key past the last day: it costs one request per 1,000 keys in the window, never one per
empty day, and nothing outside the window is ever requested.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from backfill.sources import ObjectRef, S3Source, Selection

ROOT = "AWSLogs"
SERVICE = "CloudTrail"
# S3 keys are case-sensitive: a folder of these names in another case holds nothing CloudTrail wrote.
_CASED = {name.lower(): name for name in (ROOT, SERVICE)}

# Each S3 request (a listing page, a GET, every read of a body) waits at most this long to connect
# and for each answer, and is tried this many times in all: an endpoint that accepts connections and
# never answers fails in about ATTEMPTS x the timeout, instead of botocore's 60 s x 5.
DEFAULT_TIMEOUT_SECONDS = 15.0
ATTEMPTS = 3


def client_config(threads: int, timeout: float) -> Any:
    """The botocore Config of the backfill's S3 client."""
    from botocore.config import Config

    return Config(
        max_pool_connections=max(10, threads * 2),
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
    )


def describe_error(exc: Exception, timeout: float) -> str:
    """An S3 error as the summary names it; a timeout says what was waited for and how long."""
    text = f"{type(exc).__name__}: {exc}"
    if type(exc).__name__ in ("ConnectTimeoutError", "ReadTimeoutError"):  # botocore's, not imported here
        return f"no answer from S3 within {timeout:g} s, {ATTEMPTS} attempts ({text})"
    return text


def case_warning(source: S3Source) -> str | None:
    """A warning when a folder of the prefix is AWSLogs or CloudTrail in another case."""
    parts = source.prefix.split("/")
    fixed = [_CASED.get(part.lower(), part) for part in parts]
    if fixed == parts:
        return None
    return (
        f"{source}: S3 keys are case-sensitive and CloudTrail writes {ROOT}/ and {SERVICE}/; "
        f"did you mean s3://{source.bucket}/{'/'.join(fixed)}?"
    )


@dataclass
class S3Lister:
    """Yields the objects the selection wants; `notes` says where pruning was impossible."""

    client: Any
    selection: Selection
    notes: list[str] = field(default_factory=list)

    def objects(self, source: S3Source) -> Iterator[ObjectRef]:
        for key, size in self._keys(source.bucket, source.prefix):
            if self.selection.wants(key):
                yield ObjectRef(f"s3://{source.bucket}/{key}", source.bucket, key, size)

    def _keys(self, bucket: str, prefix: str) -> Iterator[tuple[str, int]]:
        *complete, partial = prefix.split("/")
        if partial:  # the prefix ends inside a name: nothing to walk, list it as it is
            yield from self._flat(bucket, prefix)
            return
        if ROOT in complete:
            at = complete.index(ROOT)
            yield from self._walk_root(bucket, "/".join(complete[: at + 1]) + "/", complete[at + 1 :])
            return
        if prefix + ROOT + "/" in self._dirs(bucket, prefix):
            yield from self._walk_root(bucket, prefix + ROOT + "/", [])
            return
        self.notes.append(f"s3://{bucket}/{prefix}: no {ROOT}/ folder, so the whole prefix is listed")
        yield from self._flat(bucket, prefix)

    def _walk_root(self, bucket: str, root: str, rest: list[str]) -> Iterator[tuple[str, int]]:
        tops = [root + rest[0] + "/"] if rest else self._dirs(bucket, root)
        rest = rest[1:]
        for top in tops:
            if _name(top).startswith("o-"):  # an organization trail: accounts are one level down
                if rest:
                    accounts = [top + rest[0] + "/"]
                elif self.selection.accounts:
                    accounts = [top + account + "/" for account in sorted(self.selection.accounts)]
                else:
                    accounts = self._dirs(bucket, top)
                for account in accounts:
                    yield from self._walk_account(bucket, account, rest[1:] if rest else [])
            else:
                yield from self._walk_account(bucket, top, rest)

    def _walk_account(self, bucket: str, account: str, rest: list[str]) -> Iterator[tuple[str, int]]:
        if self.selection.accounts and _name(account) not in self.selection.accounts:
            return
        if rest and rest[0] != SERVICE:  # CloudTrail-Digest/, CloudTrail-Insight/: not API events
            return
        service = account + SERVICE + "/"
        rest = rest[1:]
        if rest:
            regions = [service + rest[0] + "/"]
        elif self.selection.regions:
            regions = [service + region + "/" for region in sorted(self.selection.regions)]
        else:
            regions = self._dirs(bucket, service)
        for region in regions:
            if self.selection.regions and _name(region) not in self.selection.regions:
                continue
            yield from self._walk_days(bucket, region, rest[1:] if rest else [])

    def _walk_days(self, bucket: str, region: str, rest: list[str]) -> Iterator[tuple[str, int]]:
        prefix = region + "".join(part + "/" for part in rest)
        window = self.selection.window
        first, stop = window.first_day(), window.day_after_last()
        start_after = region + first.strftime("%Y/%m/%d/") if first else None
        stop_at = region + stop.strftime("%Y/%m/%d/") if stop else None
        if start_after is not None and start_after <= prefix:
            start_after = None
        if stop_at is not None and stop_at <= prefix:
            return
        yield from self._flat(bucket, prefix, start_after, stop_at)

    def _dirs(self, bucket: str, prefix: str) -> list[str]:
        found: list[str] = []
        for page in self._pages(Bucket=bucket, Prefix=prefix, Delimiter="/"):
            found.extend(item["Prefix"] for item in page.get("CommonPrefixes", ()))
        return found

    def _flat(
        self, bucket: str, prefix: str, start_after: str | None = None, stop_at: str | None = None
    ) -> Iterator[tuple[str, int]]:
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if start_after:
            params["StartAfter"] = start_after
        for page in self._pages(**params):
            for item in page.get("Contents", ()):
                if stop_at is not None and item["Key"] >= stop_at:
                    return
                yield item["Key"], int(item.get("Size", 0))

    def _pages(self, **params: Any) -> Iterator[dict[str, Any]]:
        while True:
            page = self.client.list_objects_v2(**params)
            yield page
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            params["ContinuationToken"] = token


def _name(prefix: str) -> str:
    return prefix.rstrip("/").rsplit("/", 1)[-1]
