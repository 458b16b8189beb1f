"""Build the Lambda zip reproducibly: same sources and dependency versions give the same bytes.

Dependencies are installed as binary wheels for the Lambda's platform (manylinux, x86_64 or aarch64),
never for the build machine, once for every Python the stack allows (LambdaRuntime's AllowedValues):
compiled modules carry their Python in their file name (orjson.cpython-313-x86_64-linux-gnu.so), so
one zip holds them side by side and runs on any allowed runtime; a runtime the zip was not built for
would fail every invocation on `No module named 'orjson.orjson'`. The zip records what it was built
for in MANIFEST_NAME, and `make deploy` refuses a zip that does not match the stack's settings.
boto3/botocore are left out: the Lambda Python runtime ships them, and bundling them would add ~15 MB
and slow cold starts. Set include_boto3 (``--include-boto3``) to pin our own version instead.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "build" / "trailalert-lambda.zip"
PLATFORMS = {
    "x86_64": "manylinux2014_x86_64",
    "arm64": "manylinux2014_aarch64",
    "aarch64": "manylinux2014_aarch64",
}
# The allowed runtimes (python3.12 and later) run on Amazon Linux 2023 (glibc 2.34), so wheels
# for glibc 2.28 fit too: google-re2 publishes its cp313 wheels only for manylinux_2_28.
NEWER_PLATFORMS = {
    name: platform.replace("manylinux2014", "manylinux_2_28") for name, platform in PLATFORMS.items()
}
MANIFEST_NAME = "trailalert-package.json"
PROVIDED_BY_RUNTIME = frozenset({"boto3", "botocore", "s3transfer", "jmespath"})
# 1980-01-01 is the earliest date a zip entry can hold; every entry gets it so mtimes never leak in.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
# Development-only parts of the package: the local Slack stand-in, sample events and the demo.
EXCLUDED_SOURCES = ("processor/devtools/", "processor/demo.py")
_SKIPPED_PARTS = frozenset({"__pycache__", "tests", "bin"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


def runtime_requirements(
    pyproject: Path = REPO_ROOT / "pyproject.toml", include_boto3: bool = False
) -> list[str]:
    """The project's runtime dependencies, minus what the Lambda runtime already provides."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    requirements = []
    for requirement in data["project"]["dependencies"]:
        name = re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0].lower()
        if include_boto3 or name not in PROVIDED_BY_RUNTIME:
            requirements.append(requirement)
    return sorted(requirements)


def allowed_runtimes() -> tuple[str, ...]:
    """The Lambda runtimes the stack allows (python3.12, ...): the zip carries wheels for each."""
    from infra.template import load_template

    return tuple(load_template()["Parameters"]["LambdaRuntime"]["AllowedValues"])


def python_version(runtime: str) -> str:
    """python3.13 -> 3.13"""
    return runtime.removeprefix("python")


def install_dependencies(
    target: Path, requirements: list[str], architecture: str, python_version: str
) -> None:
    """pip-install binary wheels for the Lambda platform into `target` (network: the package index)."""
    if not requirements:
        return
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile", "--target", str(target),
        "--platform", PLATFORMS[architecture], "--platform", NEWER_PLATFORMS[architecture],
        "--implementation", "cp",
        "--python-version", python_version, "--only-binary=:all:",
        *requirements,
    ]  # fmt: skip
    subprocess.run(command, check=True)  # noqa: S603 - fixed argv, our own interpreter


def distributions(folder: Path) -> set[str]:
    """name-version of every distribution pip installed into `folder` (its .dist-info folders)."""
    return {path.name.removesuffix(".dist-info") for path in folder.glob("*.dist-info")}


def _wanted(relative: str) -> bool:
    parts = relative.split("/")
    if _SKIPPED_PARTS.intersection(parts[:-1]) or relative.endswith(_SKIPPED_SUFFIXES):
        return False
    return not relative.startswith(EXCLUDED_SOURCES)


def collect(root: Path, prefix: str = "") -> Iterator[tuple[str, Path]]:
    """(archive name, file) for every file under `root` that belongs in the Lambda."""
    for path in root.rglob("*"):
        if path.is_file():
            name = prefix + path.relative_to(root).as_posix()
            if _wanted(name):
                yield name, path


def write_zip(entries: Iterable[tuple[str, Path]], output: Path) -> str:
    """Write entries sorted, with fixed timestamps and modes; return the zip's sha256."""
    output.parent.mkdir(parents=True, exist_ok=True)
    unique = dict(entries)
    tmp = output.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for name in sorted(unique):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.external_attr = 0o100644 << 16  # regular file, rw-r--r--
            info.create_system = 3  # unix, so the mode above is honoured everywhere
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, unique[name].read_bytes(), compresslevel=9)
    os.replace(tmp, output)
    return hashlib.sha256(output.read_bytes()).hexdigest()


def build(
    output: Path = DEFAULT_OUTPUT,
    architecture: str = "x86_64",
    runtimes: tuple[str, ...] | None = None,
    include_boto3: bool = False,
    with_dependencies: bool = True,
    source_root: Path = REPO_ROOT,
) -> str:
    """Build the zip from `source_root`/processor (+ dependencies for every runtime); return its sha256."""
    runtimes = allowed_runtimes() if runtimes is None else runtimes
    with tempfile.TemporaryDirectory(prefix="trailalert-deps-") as deps:
        entries: list[tuple[str, Path]] = []
        installed: dict[str, set[str]] = {}
        if with_dependencies:
            requirements = runtime_requirements(source_root / "pyproject.toml", include_boto3)
            for runtime in runtimes:
                folder = Path(deps) / runtime
                install_dependencies(folder, requirements, architecture, python_version(runtime))
                installed[runtime] = distributions(folder)
                entries.extend(collect(folder))
            if len({frozenset(found) for found in installed.values()}) > 1:
                # Pure-Python files of two versions of a package would overwrite each other.
                raise RuntimeError(f"the runtimes resolve different dependency versions: {installed}")
        manifest = Path(deps) / MANIFEST_NAME
        manifest.write_text(
            json.dumps(
                {
                    "architecture": "arm64" if PLATFORMS[architecture].endswith("aarch64") else "x86_64",
                    "runtimes": sorted(runtimes) if with_dependencies else [],
                    "dependencies": sorted(next(iter(installed.values()), set())),
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        entries.append((MANIFEST_NAME, manifest))
        entries.extend(collect(source_root / "processor", "processor/"))
        entries.extend(collect(source_root / "backfill", "backfill/"))  # the backfill worker (--on-lambda)
        return write_zip(entries, output)


def read_manifest(zip_path: Path) -> dict[str, object] | None:
    """What a zip was built for (None: not built by this module, or before it wrote manifests)."""
    with zipfile.ZipFile(zip_path) as archive:
        if MANIFEST_NAME not in archive.namelist():
            return None
        return json.loads(archive.read(MANIFEST_NAME))


def zip_problem(zip_path: Path, architecture: str, runtime: str) -> str | None:
    """Why this zip cannot run on the function as configured, or None."""
    try:
        manifest = read_manifest(zip_path)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        return f"{zip_path} is not a readable zip: {exc}"
    if manifest is None:
        return f"{zip_path} has no {MANIFEST_NAME}: build it with `make package`"
    if manifest.get("architecture") != architecture:
        return (
            f"{zip_path} was built for {manifest.get('architecture')}, the function runs on {architecture} "
            f"(TRAILALERT_LAMBDA_ARCHITECTURE): run `make package LAMBDA_ARCH={architecture}`"
        )
    if runtime not in manifest.get("runtimes", []):  # type: ignore[operator]
        built = ", ".join(manifest.get("runtimes", [])) or "no runtime (built without dependencies)"  # type: ignore[arg-type]
        return f"{zip_path} holds wheels for {built}, not {runtime} (TRAILALERT_LAMBDA_RUNTIME): run `make package`"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the trailalert Lambda zip.")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    default_arch = os.environ.get("LAMBDA_ARCH", "x86_64")
    parser.add_argument("--architecture", default=default_arch, choices=sorted(PLATFORMS))
    parser.add_argument(
        "--runtime",
        action="append",
        dest="runtimes",
        help="build for this runtime only (repeatable; default: every runtime the stack allows)",
    )
    parser.add_argument("--include-boto3", action="store_true", help="bundle our boto3")
    parser.add_argument("--no-dependencies", action="store_true", help="only our code (offline)")
    args = parser.parse_args(argv)
    with_deps = not args.no_dependencies
    runtimes = tuple(args.runtimes) if args.runtimes else None
    digest = build(args.output, args.architecture, runtimes, args.include_boto3, with_deps)
    size = args.output.stat().st_size
    print(f"{args.output} {size} bytes sha256={digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
