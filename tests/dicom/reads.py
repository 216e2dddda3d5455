"""Header attributes that note every keyword a reader asks for: the tests that hold
``Criteria.KEYWORDS`` and ``StudyMetadata.DICOM_KEYWORDS`` to what their code reads (the
gateway parses only those from a header)."""

from __future__ import annotations


class Reads(dict):  # type: ignore[type-arg]
    """A header's attributes by keyword; ``asked`` holds every keyword looked up."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, key, default=None):  # type: ignore[no-untyped-def]
        self.asked.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return super().__contains__(key)
