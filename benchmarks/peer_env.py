"""A peer tool's own Python environment, made from its hashed lock on first use.

Some peers cannot share radgov's environment (medspacy needs numpy 1, NannyML
python-dateutil < 3), so each gets ``.venv/peers/<name>``, installed from
``benchmarks/peers/<name>-requirements.txt`` and made again whenever that lock changes.  The lock
is the whole closure (``uv pip compile --generate-hashes``), so it is installed with
``--no-deps``, as ``make install`` installs radgov's.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def peer_python(name: str) -> Path:
    """The interpreter of peer ``name``'s environment, (re)installed from its lock if needed."""
    env = ROOT / ".venv" / "peers" / name
    lock = ROOT / "benchmarks" / "peers" / f"{name}-requirements.txt"
    python = env / "bin" / "python"
    stamp = env / ".lock-sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not python.exists() or not stamp.exists() or stamp.read_text() != digest:
        print(f"setting up {name}'s environment from", lock.relative_to(ROOT))
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(env)], check=True)
        subprocess.run(
            [str(env / "bin" / "pip"), "install", "--quiet", "--require-hashes", "--no-deps",
             "-r", str(lock)],
            check=True,
        )  # fmt: skip
        stamp.write_text(digest)
    return python
