"""Every allowed runtime and architecture gets matching wheels in the Lambda zip.

The zips are built for real (pip reads the package index it is configured with). For each
architecture and each runtime the template allows, every package with compiled modules must carry
one built for that CPython and that machine; where that Python exists here (x86_64), the handler and
every compiled dependency are imported from the unpacked zip, as the Lambda runtime would.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest

from infra import package
from infra.template import load_template

RUNTIMES = tuple(load_template()["Parameters"]["LambdaRuntime"]["AllowedValues"])
ARCHITECTURES = tuple(load_template()["Parameters"]["LambdaArchitecture"]["AllowedValues"])
MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}
EXTENSION = re.compile(r"^(?P<package>[^/]+)/.*\.(?P<tag>cpython-\d+-(?P<machine>\w+)-linux-gnu|abi3)\.so$")


@pytest.fixture(scope="module")
def zips(tmp_path_factory: pytest.TempPathFactory, lambda_zip: Path) -> dict[str, Path]:
    built = {"x86_64": lambda_zip}
    for architecture in ARCHITECTURES:
        if architecture not in built:
            built[architecture] = tmp_path_factory.mktemp(architecture) / "trailalert-lambda.zip"
            package.build(built[architecture], architecture=architecture)
    return built


def extensions(zip_path: Path) -> dict[str, set[tuple[str, str]]]:
    """package -> {(tag, machine)} of its compiled modules."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            match = EXTENSION.match(name)
            if match:
                found[match["package"]].add((match["tag"], match["machine"] or ""))
    return found


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_every_compiled_dependency_has_a_module_for_the_runtime_and_architecture(
    zips: dict[str, Path], architecture: str, runtime: str
):
    compiled = extensions(zips[architecture])
    assert {"orjson", "msgspec", "pybase64", "zlib_ng", "yaml"} <= set(compiled)
    wanted = f"cpython-{runtime.removeprefix('python').replace('.', '')}-{MACHINE[architecture]}-linux-gnu"
    for name, modules in compiled.items():
        assert (wanted, MACHINE[architecture]) in modules, f"{name} has no {wanted} module: {modules}"
        assert {machine for _, machine in modules} == {MACHINE[architecture]}, f"{name}: another machine"
    manifest = package.read_manifest(zips[architecture])
    assert manifest is not None and manifest["architecture"] == architecture
    assert runtime in manifest["runtimes"]
    assert package.zip_problem(zips[architecture], architecture, runtime) is None


def interpreter(runtime: str) -> str | None:
    """A CPython of this version on this machine (on PATH, or installed by pyenv)."""
    version = runtime.removeprefix("python")
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(str(p) for p in Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_handler_imports_from_the_zip_on_each_runtime(
    zips: dict[str, Path], runtime: str, tmp_path: Path
):
    python = interpreter(runtime)
    if python is None:
        pytest.skip(f"no {runtime} on this machine to import with (the wheel tags are checked above)")
    with zipfile.ZipFile(zips["x86_64"]) as archive:
        archive.extractall(tmp_path)
    # Only the zip on the path, as in /var/task: no site-packages of ours (-S), no user site (-s).
    code = (
        "import sys; sys.path.insert(0, '.');"
        "import processor.handler, orjson, msgspec, pybase64, zlib_ng, yaml;"
        "import orjson.orjson as o; print(o.__file__)"
    )
    result = subprocess.run([python, "-S", "-s", "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    version = runtime.removeprefix("python").replace(".", "")
    assert f"cpython-{version}-x86_64-linux-gnu.so" in result.stdout


def test_a_zip_built_for_one_runtime_fails_to_import_on_another(tmp_path: Path):
    """What the manifest check prevents: the issue's `No module named 'orjson.orjson'`."""
    python = interpreter("python3.13")
    if python is None:
        pytest.skip("no python3.13 on this machine")
    only_312 = tmp_path / "only-312.zip"
    package.build(only_312, architecture="x86_64", runtimes=("python3.12",))
    unpacked = tmp_path / "task"
    with zipfile.ZipFile(only_312) as archive:
        archive.extractall(unpacked)
    code = "import sys; sys.path.insert(0, '.'); import orjson"
    result = subprocess.run([python, "-S", "-s", "-c", code], cwd=unpacked, capture_output=True, text=True)
    assert result.returncode != 0 and "orjson.orjson" in result.stderr
    assert "not python3.13" in str(package.zip_problem(only_312, "x86_64", "python3.13"))
