"""Documentation cannot fall behind: every setting radgov reads, every radgov
command and every role must be in the README (after Datasette's test_docs)."""

from __future__ import annotations

import ast
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


def environment_reads(source: str) -> list[tuple[int, str]]:
    """Every read of the process environment in ``source`` (``os.environ[...]``,
    ``os.environ.get(...)``, ``os.getenv(...)``, ``... in os.environ``) as (line, key); a key
    that is not a string literal is ``"?"``.  Writes (``setdefault``, assignment) are not
    reads."""

    def is_environ(node: ast.AST) -> bool:
        return isinstance(node, ast.Attribute | ast.Name) and (
            getattr(node, "attr", None) == "environ" or getattr(node, "id", None) == "environ"
        )

    def key(node: ast.AST | None) -> str:
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else "?"

    reads = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and is_environ(node.value):
            if isinstance(node.ctx, ast.Load):
                reads.append((node.lineno, key(node.slice)))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            getter = node.func.attr == "get" and is_environ(node.func.value)
            if getter or node.func.attr == "getenv":
                reads.append((node.lineno, key(node.args[0] if node.args else None)))
        elif isinstance(node, ast.Compare) and any(is_environ(c) for c in node.comparators):
            reads.append((node.lineno, key(node.left)))
    return sorted(reads)


def test_settings_are_read_only_through_the_one_reader() -> None:
    """No module but the one reader (radgov.core.config) reads a radgov setting from the
    environment, nor reads a variable it does not name."""
    offenders = []
    for path in (ROOT / "src" / "radgov").rglob("*.py"):
        if path == ROOT / "src" / "radgov" / "core" / "config.py":
            continue
        for line, name in environment_reads(path.read_text()):
            if name == "?" or name in config.SETTINGS or name.startswith("RADGOV_"):
                offenders.append(f"{path.relative_to(ROOT)}:{line} reads {name}")
    assert not offenders, offenders
    caught = environment_reads(
        'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "x")\n'
        'a = os.environ["RADGOV_A"]\nb = os.environ.get("DATABASE_URL")\n'
        'c = os.getenv(name)\nd = "REDIS_URL" in os.environ\n'
    )
    assert caught == [(3, "RADGOV_A"), (4, "DATABASE_URL"), (5, "?"), (6, "REDIS_URL")]


def test_the_evaluation_guide_shows_the_example_protocol_as_shipped() -> None:
    """docs/evaluation.md annotates the example protocol; its content must stay the same as
    the file the demo runs (same canonical hash: comments and layout aside)."""
    from radgov.evaluation.protocol import load_protocol, parse_protocol_text

    guide = (ROOT / "docs" / "evaluation.md").read_text()
    block = guide.split("```yaml\n", 1)[1].split("```", 1)[0]
    shipped = ROOT / "src" / "radgov" / "evaluation" / "examples" / "ich-triage-protocol.yaml"
    assert parse_protocol_text(block).canonical_hash() == load_protocol(shipped).canonical_hash()
