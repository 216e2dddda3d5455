"""What the exams services refuse with.  Every message names the field (or row and column)
that is wrong and never repeats a value that could be an identifier."""

from __future__ import annotations

from dataclasses import dataclass

from radgov.core.errors import Conflict, Denied, Refused


@dataclass(frozen=True)
class Problem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ExamError(Refused):
    """Bad input; ``problems`` lists every problem found, each naming its field."""

    def __init__(self, problems: list[Problem] | str) -> None:
        self.problems = [Problem("", problems)] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    def listed(self) -> list[dict[str, str]]:
        return [{"location": p.field, "message": p.message} for p in self.problems]


class ExamConflict(ExamError, Conflict):
    """A source disagrees with what another source already recorded for the same study."""


class MoveError(ExamError):
    """A status move the table or a guard refuses."""


class BatchError(ExamError):
    """A batch (or file) refused whole; each problem names its event (or row) and field."""


class NotPermitted(Denied):
    """The acting person or machine may not do this."""
