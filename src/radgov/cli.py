"""The ``radgov`` command: every Django management command behind one entry point.

``radgov evaluate`` (and ``radgov evaluate plan``) reads and writes files only: it needs no
database and no installed app.  ``django.setup()`` would import every installed app (allauth,
ninja, huey, every model), most of a second of start-up, so that command runs without loading
the apps: the settings are read and radgov's ``LOGGING`` configured, and the command runs
exactly as Django's dispatcher would run it (same parser, options, messages and exit status).
Django's own default logging, which ``django.setup()`` applies first, is left out: it covers
only Django's loggers (request errors mailed to admins, the development server), which such a
command never uses, and loading it imports Django's HTTP and template layers (a twentieth of a
second).  Such a command may also name something to start before the settings are read
(``radgov evaluate``: the report's engines, which take longest to start) and environment
defaults for the libraries it loads.  Anything unusual
(``--settings``, ``--pythonpath``, shell completion, settings that do not load) goes through
Django's dispatcher unchanged.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys

from radgov.core import collector

# commands that touch no database and no app registry: their module, a function that is given
# the command's words before anything else is done ("module:function"), if any, and environment
# defaults set before that
WITHOUT_APPS = {
    "evaluate": (
        "radgov.evaluation.management.commands.evaluate",
        "radgov.evaluation.report.engines:start_for_command_line",
        # one BLAS thread: the command multiplies no large matrices, and the threads OpenBLAS
        # starts with numpy spin on the cores the report's engines need (a tenth of a second
        # of CPU in this process and in each engine, which inherit it)
        {"OPENBLAS_NUM_THREADS": "1"},
    ),
    # reads reports and rules, writes labels: nothing to start first
    "label": ("radgov.monitoring.management.commands.label", "", {"OPENBLAS_NUM_THREADS": "1"}),
}


def _unusual(args: list[str]) -> bool:
    """Whether ``args`` must go through Django's dispatcher untouched (shell completion, or
    options that change which settings or code are loaded)."""
    return "DJANGO_AUTO_COMPLETE" in os.environ or any(
        a.startswith(("--settings", "--pythonpath")) for a in args
    )


def _settings_load() -> bool:
    """Load the settings, as Django's dispatcher does first; False: they do not (the
    dispatcher reports that its own way)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.INSTALLED_APPS  # noqa: B018  (loads the settings)
    except (ImproperlyConfigured, ImportError):
        return False
    return True


def _run_without_apps(args: list[str]) -> bool:
    """Run ``args`` without ``django.setup()`` if the command allows it; False if not run."""
    if not args or args[0] not in WITHOUT_APPS or _unusual(args):
        return False
    module_name, first, environment = WITHOUT_APPS[args[0]]
    for name, value in environment.items():
        os.environ.setdefault(name, value)
    if first:
        module, _, function = first.partition(":")
        getattr(importlib.import_module(module), function)(args[1:])
    from django.conf import settings
    from django.utils.module_loading import import_string

    if not _settings_load():
        return False  # let Django's dispatcher report it its own way
    if settings.LOGGING_CONFIG:
        import_string(settings.LOGGING_CONFIG)(settings.LOGGING)
    command = importlib.import_module(module_name).Command()
    try:
        command.run_from_argv(["radgov", *args])
    finally:
        # the command is done: spare the interpreter's teardown its garbage collections over
        # every object still there (a tenth of a second once polars and scipy are loaded)
        gc.freeze()
    return True


def start() -> None:
    """Import the apps and the URL configuration, which nearly every command loads anyway (the
    system checks, a served request), under ``collector.start_up``: as every ``radgov``
    process starts (the benchmarks too).  A URL configuration that fails to import is left
    for whatever needs it to report."""
    import django
    from django.urls import get_resolver

    with collector.start_up():
        django.setup()
        with contextlib.suppress(Exception):
            get_resolver().url_patterns  # noqa: B018  (imports the URL configuration)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radgov.settings")
    from radgov.core.processes import watch_supervisor

    watch_supervisor()  # started by radgov serve: stop when it is gone
    if _run_without_apps(args):
        return
    if not _unusual(args) and _settings_load():
        start()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["radgov", *args])


if __name__ == "__main__":
    main()
