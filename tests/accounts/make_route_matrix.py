"""Regenerate the golden role x route tables from the policy, for review in a diff:
    .venv/bin/python -m tests.accounts.make_route_matrix
Each app keeps its own table (tests/<app>/route_matrix.csv; the platform's is
tests/accounts/route_matrix.csv).  The tables are the reviewed record of who may
use what; the tests fail when the policy, the routes or the running application
disagree with them."""

from __future__ import annotations

import csv
import os
import sys
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radgov.settings")
import django  # noqa: E402

django.setup()

from radgov.core import policy  # noqa: E402
from radgov.core.roles import Role  # noqa: E402
from tests.accounts.routes import named_routes  # noqa: E402

COLUMNS = ["anonymous", *Role.values]
TESTS = Path(__file__).resolve().parents[1]


def table_path(owner: str) -> Path:
    return TESTS / owner / "route_matrix.csv"


def expected(name: str) -> list[str]:
    rule = policy.rule_for(name)
    cells = ["allow" if rule is not None and rule.public else "deny"]
    cells += ["allow" if rule is not None and rule.allows(role) else "deny" for role in Role.values]
    return cells


def write_tables() -> list[Path]:
    by_owner: dict[str, list[str]] = defaultdict(list)
    for name in sorted(named_routes()):
        by_owner[policy.owner_of(name)].append(name)
    written = []
    for owner, names in sorted(by_owner.items()):
        path = table_path(owner)
        path.parent.mkdir(exist_ok=True)
        with path.open("w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["route", *COLUMNS])
            for name in names:
                out.writerow([name, *expected(name)])
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_tables():
        print(f"wrote {path}", file=sys.stderr)
