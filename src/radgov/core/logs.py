"""How radgov writes its logs: never a value from the data.

Log messages are written without values by the code that logs them; what remains is what no
one wrote on purpose: the text of an exception.  An unhandled error's exception can name a
patient's file (``FileExistsError: ... '/deid/.../DOE^JANE/IM0001.dcm'``), and Django's
request log and waitress log the traceback of every unhandled error.  So tracebacks are
written as their frames (file, line, function) and the exception's type, never its message.
The libraries that read patient data (pydicom, highdicom, pynetdicom, hl7apy) write their own
warnings, which quote values and name the file they read ("... found in file
/in/DOE^JANE/IM0001.dcm"), through their loggers and through Python's warnings (which Django
routes to the ``py.warnings`` logger): their messages are kept without those.
"""

from __future__ import annotations

import logging
import re
import traceback
from types import TracebackType

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def _frames(tb: TracebackType | None) -> list[str]:
    return [
        f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}'
        for frame in traceback.extract_tb(tb)
    ]


def describe(exc: BaseException) -> list[str]:
    """The exception and those it was raised from or during, as frames and types only."""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    chain: list[BaseException] = []
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    for index, item in enumerate(reversed(chain)):
        if index:
            lines.append("During the handling of that exception, another was raised:")
        lines.append("Traceback (most recent call last):")
        lines.extend(_frames(item.__traceback__))
        lines.append(f"{type(item).__module__}.{type(item).__qualname__} (message withheld)")
    return lines


SCRUBBED = frozenset({"pydicom", "highdicom", "pynetdicom", "hl7apy", "py.warnings"})
_NAMED_FILE = re.compile(r"\b((?:in|from|reading) (?:the )?(?:file|path))\b:?\s+\S.*", re.I | re.S)


def scrubbed(message: str) -> str:
    """A data library's message without the values it quotes or the file it names."""
    from radgov.core.problems import for_the_record

    return _NAMED_FILE.sub(r"\1 …", for_the_record(message))


class PlainFormatter(logging.Formatter):
    """The house format, with tracebacks as frames and exception types only, and the
    messages of the libraries that read patient data scrubbed (:func:`scrubbed`)."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name in SCRUBBED or record.name.split(".")[0] in SCRUBBED:
            record = logging.makeLogRecord(
                {**record.__dict__, "msg": scrubbed(record.getMessage()), "args": ()}
            )
        return super().format(record)

    def formatException(self, ei: ExcInfo | tuple[None, None, None]) -> str:  # noqa: N802
        if ei[1] is None:
            return ""
        return "\n".join(describe(ei[1]))
