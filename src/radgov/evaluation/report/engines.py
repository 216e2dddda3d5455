"""The report's engines in processes of their own, started while the cases are evaluated.

Part of ``radgov evaluate``'s fast path, which the docstring of
:mod:`radgov.evaluation.pipeline` explains as a whole.  :func:`start` launches each engine in a
process of its own (a fresh interpreter running this module) as soon as the command knows it
will need it; each then does its part of the same work as in one process:

* :class:`PageEngine` makes the page (charts and HTML) from the ``OUT.json`` dictionary, as
  :func:`~radgov.evaluation.report.render.render_html` does.  Given a preliminary result
  first (:meth:`PageEngine.prepare`: everything but the ROC confidence band, while the band's
  bootstrap runs), it draws the charts that do not show the band; they are kept for the page
  only if the final result, but for its band, is the very same.
* :class:`PdfEngine` makes the PDF from that page with
  :func:`~radgov.evaluation.report.render.render_pdf`.

Nothing is kept between runs.  An engine logs as the process that started it (Django's
``LOGGING``, when settings are configured), and ends when its parent closes it or exits.
Where processes cannot be started this way (not POSIX), the work is done in the calling
process.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import pickle
import subprocess
import sys
import traceback
from collections.abc import Callable
from contextlib import suppress
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

__all__ = ["PageEngine", "PdfEngine", "start"]

Methods = dict[str, Callable[..., Any]]


def _logging_config() -> tuple[str, dict[str, Any]] | None:
    """The parent's logging configuration (Django's ``LOGGING``), for the engine to log alike.

    Only radgov's ``LOGGING`` is passed on: Django's own default configuration, which
    ``django.setup()`` applies first, covers only Django's loggers, which an engine never uses.
    """
    from django.conf import settings

    if not settings.configured or not settings.LOGGING_CONFIG:
        return None
    return settings.LOGGING_CONFIG, settings.LOGGING


class _Engine:
    """A worker process that starts its engine at once, then does what it is sent in turn."""

    kind = ""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._local: Methods | None = None
        if os.name != "posix":
            return
        to_child, from_parent = os.pipe()
        to_parent, from_child = os.pipe()
        self._process = subprocess.Popen(  # noqa: S603  (this interpreter, this module)
            [sys.executable, "-m", __name__, self.kind, str(to_child), str(from_child)],
            pass_fds=(to_child, from_child),
            stdin=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        self._send = Connection(from_parent, readable=False)
        self._recv = Connection(to_parent, writable=False)
        self._configured = False
        atexit.register(self._end)

    def _configure(self) -> None:
        """Tell the engine how to log, first of all (the parent's settings are read by now)."""
        if self._process is not None and not self._configured:
            self._send.send(_logging_config())
            self._configured = True

    def _methods(self) -> Methods:
        if self._local is None:
            self._local = _start(self.kind)
        return self._local

    def _tell(self, method: str, *args: Any) -> None:
        """Send work whose answer is not awaited (its failure, too, goes unreported)."""
        if self._process is not None:
            self._configure()
            self._send.send((method, args, False))

    def _call(self, method: str, *args: Any) -> Any:
        if self._process is None:
            return self._methods()[method](*args)
        self._configure()
        self._send.send((method, args, True))
        try:
            ok, value = self._recv.recv()
        except EOFError:
            raise RuntimeError(
                f"the report's {self.kind} engine ended unexpectedly "
                f"(exit status {self._process.wait()})"
            ) from None
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Let the engine end: it sees its connection close and exits (not waited for)."""
        if self._process is not None and not self._send.closed:
            self._send.close()
            self._recv.close()

    def _end(self) -> None:
        """At exit: an engine still starting or working is no longer wanted."""
        assert self._process is not None
        self.close()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()


class PageEngine(_Engine):
    """Charts and HTML page of the report (vl-convert, Altair, the Django template)."""

    kind = "page"

    def prepare(self, preliminary: dict[str, Any]) -> None:
        """Start on the charts of a result that lacks only the ROC band (no answer awaited)."""
        self._tell("prepare", preliminary)

    def render_html(self, result: dict[str, Any]) -> str:
        html: str = self._call("render_html", result)
        return html


class PdfEngine(_Engine):
    """The PDF of the report page (WeasyPrint)."""

    kind = "pdf"

    def render_pdf(self, html: str, path: str | Path) -> Path:
        out: Path = self._call("render_pdf", html, str(path))
        return out


# engines started before Django's settings were read (:func:`start_early`), for :func:`start`
_early: tuple[PageEngine, PdfEngine | None] | None = None


def start_early(*, pdf: bool) -> None:
    """Start the engines at once, before the command has read its settings and options.

    ``radgov`` calls this when the command line asks for a report, a fifth of a second sooner
    than the command could; :func:`start` then hands these engines to the command (or closes
    what it does not want).  An engine logs nothing before it knows how: what it would log
    while it starts is kept, and logged then.
    """
    global _early
    _early = (PageEngine(), PdfEngine() if pdf else None)


def start_for_command_line(argv: list[str]) -> None:
    """For ``radgov evaluate ARGV``, before anything else: start the engines its report needs.

    A guess from the words alone (``--html``, ``--pdf``; not ``plan``, not ``--help``): the
    command decides with its own parser, and what it does not use ends with it.
    """
    if "plan" in argv or "-h" in argv or "--help" in argv:
        return
    options = {word.split("=", 1)[0] for word in argv}
    if options & {"--html", "--pdf"}:
        start_early(pdf="--pdf" in options)


def start(*, pdf: bool) -> tuple[PageEngine, PdfEngine | None]:
    """The page engine, and the PDF engine if a PDF is wanted: started early, or now."""
    global _early
    page, pdf_engine = _early or (PageEngine(), None)
    _early = None
    if pdf and pdf_engine is None:
        pdf_engine = PdfEngine()
    elif not pdf and pdf_engine is not None:
        pdf_engine.close()
        pdf_engine = None
    for engine in (page, pdf_engine):
        if engine is not None:
            engine._configure()
    return page, pdf_engine


# ---------------------------------------------------------------------------- in the worker


def _without_band(result: dict[str, Any]) -> dict[str, Any]:
    curves = {k: v for k, v in result.get("curves", {}).items() if k != "roc_band"}
    return {**result, "curves": curves}


def _start(kind: str) -> Methods:
    """Start the engine of ``kind`` in this process; return what it can be asked to do."""
    from . import render

    if kind != "page":
        render.load_pdf_engine()
        return {"render_pdf": render.render_pdf}

    from altair.utils.schemapi import disable_debug_mode

    from . import charts

    # Altair validates every chart object as it is built (its "debug mode"); the builders'
    # specs are validated by the tests, and the spec drawn is the same either way
    disable_debug_mode()
    charts.warm_up()  # the first chart starts the JavaScript engine
    render.load_template()
    prepared: dict[str, Any] = {}  # the preliminary result and its charts, for this run only

    def prepare(preliminary: dict[str, Any]) -> None:
        prepared.clear()
        svgs = charts.svgs(preliminary, names=charts.BUILDERS.keys() - charts.BAND_CHARTS)
        prepared.update(result=preliminary, svgs=svgs)

    def render_html(result: dict[str, Any]) -> str:
        if prepared and _without_band(result) == prepared["result"]:
            svgs = {**prepared["svgs"], **charts.svgs(result, names=charts.BAND_CHARTS)}
            svgs = {name: svgs[name] for name in charts.BUILDERS if name in svgs}
        else:
            svgs = charts.svgs(result)
        return render.render_page(result, svgs)

    return {"prepare": prepare, "render_html": render_html}


def _answer(conn: Connection, method: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send((True, method(*args)))
    except Exception as exc:
        # the parent raises the same exception, noting where it happened
        exc.add_note(f"in the report's engine process:\n{traceback.format_exc()}")
        try:
            pickle.dumps(exc)
        except Exception:
            exc = RuntimeError(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        conn.send((False, exc))


class _Kept(logging.Handler):
    """Keeps what is logged before the engine knows how to log."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _configure_logging(config: tuple[str, dict[str, Any]] | None, kept: _Kept) -> None:
    logging.root.removeHandler(kept)
    if config is not None:
        from importlib import import_module

        module, _, name = config[0].rpartition(".")
        getattr(import_module(module), name)(config[1])
    for record in kept.records:
        logging.getLogger(record.name).handle(record)


def _serve(kind: str, recv: Connection, send: Connection) -> None:
    kept = _Kept()
    logging.root.addHandler(kept)
    try:
        methods = _start(kind)
    except Exception as exc:  # reported to the first call, as if it had failed there
        failure = exc

        def fail(*args: Any) -> Any:
            raise failure

        methods = {"render_html": fail, "render_pdf": fail, "prepare": fail}
    _configure_logging(recv.recv(), kept)
    # what the engine has loaded stays for its life: spare the garbage collector from going
    # over it again during the work (WeasyPrint's PDF: a tenth of a second less)
    gc.freeze()
    while True:
        try:
            method, args, answer = recv.recv()
        except EOFError:
            return
        if answer:
            _answer(send, methods[method], args)
        else:
            with suppress(Exception):  # a head start only: the awaited call does it again
                methods[method](*args)


if __name__ == "__main__":
    try:
        _serve(
            sys.argv[1],
            Connection(int(sys.argv[2]), writable=False),
            Connection(int(sys.argv[3]), readable=False),
        )
    except (KeyboardInterrupt, BrokenPipeError, EOFError):
        pass  # Ctrl-C reaches the whole process group, and the parent reports it
