"""Regenerate route_matrix.csv from the policy, for review in a diff:
    .venv/bin/python -m tests.accounts.make_route_matrix
The golden table is the reviewed record of who may use what; the test fails when
the policy, the routes or the running application disagree with it."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radgov.settings")
import django  # noqa: E402

django.setup()

from radgov.core import policy  # noqa: E402
from radgov.core.roles import Role  # noqa: E402
from tests.accounts.routes import named_routes  # noqa: E402

COLUMNS = ["anonymous", *Role.values]
PATH = Path(__file__).with_name("route_matrix.csv")


def expected(name: str) -> list[str]:
    rule = policy.rule_for(name)
    cells = ["allow" if rule is not None and rule.public else "deny"]
    cells += ["allow" if rule is not None and rule.allows(role) else "deny" for role in Role.values]
    return cells


if __name__ == "__main__":
    with PATH.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["route", *COLUMNS])
        for name in sorted(named_routes()):
            out.writerow([name, *expected(name)])
    print(f"wrote {PATH}", file=sys.stderr)
