"""``radgov.core.collector.start_up`` and the ``radgov`` entry point that uses it: a process
imports its code with the garbage collector held off, then collects once and freezes what
stays.  Each check runs in a process of its own (freezing would reach the test process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def python(tmp_path: Path, *argv: str) -> str:
    """The last line a fresh interpreter prints when run with ``argv``."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "radgov.settings",
        "RADGOV_DATA_DIR": str(tmp_path / "data"),
        "RADGOV_KEY_FILE": str(tmp_path / "keys.json"),
    }
    env.pop("DATABASE_URL", None)  # a fresh SQLite folder: nothing here reads the database
    done = subprocess.run(  # noqa: S603 - this interpreter, our code
        [sys.executable, *argv], capture_output=True, text=True, check=True, env=env, timeout=300
    )
    return done.stdout.strip().splitlines()[-1]


def test_start_up_collects_the_garbage_of_the_imports_then_freezes_what_stays(tmp_path) -> None:
    code = """
import gc, weakref
from radgov.core import collector
gc.enable()
freed = []
class Node: pass
with collector.start_up():
    during = gc.isenabled()
    kept = [Node() for _ in range(1000)]
    dropped = Node(); dropped.me = dropped  # a cycle: only the collector can free it
    weakref.finalize(dropped, freed.append, True)
    del dropped
    before = gc.get_freeze_count()
print(during, freed, gc.isenabled(), before, gc.get_freeze_count() >= before + 1000)
"""
    assert python(tmp_path, "-c", code) == "False [True] True 0 True"


def test_a_radgov_command_starts_with_its_apps_and_urls_frozen(tmp_path) -> None:
    """Every command (through ``radgov.cli.main``) loads the apps and the URL configuration
    under ``start_up``, without highdicom, pydicom's code dictionary or altair (about 45 MB a
    process, loaded when a report or a chart is made) and without scipy.stats and
    scipy.optimize (``radgov.stats.sample_size`` imports them where it uses them: 0.4 s of
    every start); one that names its own settings goes to Django's dispatcher as it is."""
    probe = (
        "import gc, sys; "
        "print(gc.get_freeze_count() > 100_000, gc.isenabled(), 'radgov.urls' in sys.modules, "
        "any(m in sys.modules for m in ('highdicom', 'pydicom.sr.codedict', 'altair', "
        "'scipy.stats', 'scipy.optimize')))"
    )
    ran = python(tmp_path, "-m", "radgov.cli", "shell", "-c", probe)
    assert ran == "True True True False"
    untouched = "import gc; print(gc.get_freeze_count())"
    own = ("shell", "--settings=radgov.settings", "-c", untouched)
    assert python(tmp_path, "-m", "radgov.cli", *own) == "0"


def test_the_wsgi_application_starts_the_same_way(tmp_path) -> None:
    """``radgov.wsgi``, which ``radgov serve`` and any WSGI server load, starts as the
    commands do, and its application answers (here: a page that does not exist)."""
    code = (
        "import gc, radgov.wsgi as w; from django.test import RequestFactory; "
        "status = []; "
        "w.application(RequestFactory().get('/no-such-page/').environ, lambda s, h: status.append(s)); "
        "print(gc.get_freeze_count() > 100_000, gc.isenabled(), status[0])"
    )
    assert python(tmp_path, "-c", code) == "True True 404 Not Found"
