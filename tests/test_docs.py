"""Documentation cannot fall behind: every setting radgov reads, every radgov
command and every role must be in the README (after Datasette's test_docs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from radgov.core import config
from radgov.core.roles import Role

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def radgov_commands() -> list[str]:
    return sorted(
        p.stem
        for p in (ROOT / "src" / "radgov").glob("*/management/commands/*.py")
        if not p.stem.startswith("_")
    )


@pytest.mark.parametrize("name", sorted(config.SETTINGS))
def test_every_setting_is_documented(name: str) -> None:
    assert f"`{name}`" in README, f"{name} is read by radgov but not documented in README.md"


@pytest.mark.parametrize("command", radgov_commands())
def test_every_command_is_documented(command: str) -> None:
    assert f"`radgov {command}" in README, f"radgov {command} is not documented in README.md"


@pytest.mark.parametrize("role", Role.values)
def test_every_role_is_documented(role: str) -> None:
    assert f"`{role}`" in README


def test_settings_are_read_only_through_the_one_reader() -> None:
    """No module reads a RADGOV_ variable from os.environ directly."""
    offenders = []
    for path in (ROOT / "src" / "radgov").rglob("*.py"):
        if path.name == "config.py":
            continue
        text = path.read_text()
        if "os.environ" in text and "RADGOV_" in text and 'environ.setdefault("DJANGO' not in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders


def test_the_evaluation_guide_shows_the_example_protocol_as_shipped() -> None:
    """docs/evaluation.md annotates the example protocol; its content must stay the same as
    the file the demo runs (same canonical hash: comments and layout aside)."""
    from radgov.evaluation.protocol import load_protocol, parse_protocol_text

    guide = (ROOT / "docs" / "evaluation.md").read_text()
    block = guide.split("```yaml\n", 1)[1].split("```", 1)[0]
    shipped = ROOT / "src" / "radgov" / "evaluation" / "examples" / "ich-triage-protocol.yaml"
    assert parse_protocol_text(block).canonical_hash() == load_protocol(shipped).canonical_hash()
