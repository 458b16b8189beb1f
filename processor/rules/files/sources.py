"""Where rule files come from: a local file or folder, an S3 object or prefix, or the bundled pack.

Each source becomes (name, text) pairs; names are what errors and alerts show (`rules/aws.yml`,
`s3://bucket/rules/aws.yml`, `pack/persistence/iam-backdoor-role.yml`). Reading happens once, at
cold start; boto3 is imported only for an s3:// source and honours AWS_ENDPOINT_URL like every
other client of the processor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, Final

from processor.rules.files.errors import RuleFileError

SUFFIXES: Final = (".yml", ".yaml")
PACK_PACKAGE: Final = "processor.rules.pack"
MAX_FILE_BYTES: Final[int] = 5 * 1024 * 1024

Source = tuple[str, str]  # (name shown in errors, YAML text)


def read_source(
    location: str, *, setting: str, s3_client: Callable[[], Any] | None = None
) -> tuple[list[Source], list[RuleFileError]]:
    """(name, text) of every rule file at `location`; a problem for each one that cannot be read."""
    if location.startswith("s3://"):
        return _read_s3(location, setting, s3_client or _default_s3_client)
    return _read_local(Path(location), location, setting)


def read_pack() -> list[Source]:
    """The bundled detection pack, in a stable order (it ships with the code, so it must be readable)."""
    root = resources.files(PACK_PACKAGE)
    return [(f"pack/{name}", entry.read_text(encoding="utf-8")) for name, entry in sorted(_walk(root, ""))]


def _walk(folder: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    for entry in folder.iterdir():
        if entry.is_dir():
            if not entry.name.startswith(("_", ".")):
                yield from _walk(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(SUFFIXES):
            yield f"{prefix}{entry.name}", entry


def _read_local(path: Path, shown: str, setting: str) -> tuple[list[Source], list[RuleFileError]]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
        if not files:
            return [], [RuleFileError(setting, shown, 0, "the folder holds no .yml or .yaml files")]
    elif path.is_file():
        files = [path]
    else:
        return [], [RuleFileError(setting, shown, 0, "no such file or folder")]
    sources: list[Source] = []
    problems: list[RuleFileError] = []
    for file in files:
        name = str(file) if file == path else str(Path(shown) / file.relative_to(path))
        try:
            if file.stat().st_size > MAX_FILE_BYTES:
                raise OSError(f"larger than {MAX_FILE_BYTES} bytes")
            sources.append((name, file.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(RuleFileError(setting, name, 0, f"cannot be read: {exc}"))
    return sources, problems


def _read_s3(
    location: str, setting: str, client_factory: Callable[[], Any]
) -> tuple[list[Source], list[RuleFileError]]:
    bucket, _, key = location[len("s3://") :].partition("/")
    if not bucket:
        return [], [RuleFileError(setting, location, 0, "expected s3://bucket/key or s3://bucket/prefix/")]
    try:
        client = client_factory()
        if key and not key.endswith("/"):
            return [(location, _get(client, bucket, key))], []
        keys = sorted(
            item["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
            for item in page.get("Contents", ())
            if item["Key"].endswith(SUFFIXES)
        )
        if not keys:
            return [], [RuleFileError(setting, location, 0, "no .yml or .yaml objects under this prefix")]
        return [(f"s3://{bucket}/{k}", _get(client, bucket, k)) for k in keys], []
    except Exception as exc:  # boto3 raises many types; each ends as a named, located problem
        return [], [RuleFileError(setting, location, 0, f"cannot be read from S3: {exc}")]


def _get(client: Any, bucket: str, key: str) -> str:
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    data = body.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"s3://{bucket}/{key} is larger than {MAX_FILE_BYTES} bytes")
    return data.decode("utf-8")


def _default_s3_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3}))
