"""The lock file is what `make run` and `make test` install: every dependency pyproject.toml
names is pinned there, at a version its range allows, with hashes, and the environment the
tests run in is that program."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def pins(lock: Path) -> dict[str, list[tuple[Version, str | None]]]:
    """{name: [(version, marker), ...]} of a uv/pip-tools lock with hashes."""
    found: dict[str, list[tuple[Version, str | None]]] = {}
    lines = lock.read_text().splitlines()
    for i, line in enumerate(lines):
        match = PIN.match(line)
        if not match:
            continue
        name, version, marker = match.groups()
        assert i + 1 < len(lines) and "--hash=sha256:" in lines[i + 1], (
            f"{lock.name}: {name}=={version} has no hash"
        )
        found.setdefault(canonicalize_name(name), []).append((Version(version), marker))
    return found


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = list(project["project"]["dependencies"])
    for extra in extras:
        wanted += project["project"]["optional-dependencies"][extra]
    wanted += project["dependency-groups"]["build"]
    return [Requirement(spec) for spec in wanted]


@pytest.mark.parametrize(
    ("lock", "extras"),
    [("requirements.txt", ("dev",)), ("requirements-bench.txt", ("dev", "bench"))],
)
def test_lock_pins_every_declared_dependency_within_its_range(lock: str, extras: tuple) -> None:
    locked = pins(ROOT / lock)
    for requirement in declared(*extras):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{lock} does not pin {requirement.name}: run `make lock`"
        for version, _ in locked[name]:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{lock} pins {requirement.name}=={version}, outside {requirement.specifier} "
                "in pyproject.toml: run `make lock`"
            )


def test_installed_environment_is_the_locked_one() -> None:
    """Catches a virtualenv installed some other way than from the lock (or a stale one)."""
    for name, versions in pins(ROOT / "requirements.txt").items():
        applicable = [v for v, marker in versions if marker is None or Marker(marker).evaluate()]
        if not applicable:
            continue
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            pytest.fail(f"{name} is locked but not installed: run `make install`")
        assert installed in applicable, (
            f"{name} {installed} is installed, the lock says {applicable}"
        )


def test_pin_parser_reads_markers_and_refuses_a_pin_without_hash(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text(
        "numpy==2.4.6 ; python_full_version < '3.12' \\\n    --hash=sha256:ab\n"
        "numpy==2.5.5 ; python_full_version >= '3.12' \\\n    --hash=sha256:cd\n"
    )
    assert pins(lock) == {
        "numpy": [
            (Version("2.4.6"), "python_full_version < '3.12'"),
            (Version("2.5.5"), "python_full_version >= '3.12'"),
        ]
    }
    lock.write_text("django==5.2.19\n")
    with pytest.raises(AssertionError, match="no hash"):
        pins(lock)


def test_benchmark_lock_keeps_the_main_locks_pins() -> None:
    """`make bench` installs its extras into the tested environment; it must not move a pin."""
    main, bench = pins(ROOT / "requirements.txt"), pins(ROOT / "requirements-bench.txt")
    moved = {name: (main[name], bench[name]) for name in main if bench.get(name) != main[name]}
    assert not moved, f"requirements-bench.txt differs from requirements.txt: {moved}"
