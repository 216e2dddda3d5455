"""The one PDF renderer: WeasyPrint, fetching nothing but what radgov itself ships.

Every PDF radgov makes (the conformance audit, meeting notes, the acceptance-test report, the
demo's IFU) is HTML rendered here.  WeasyPrint would otherwise fetch any URL the HTML names:
``<link rel=attachment href=file:///etc/passwd>`` would embed the server's file in the PDF and
``<img src=https://...>`` would call out to the network, leaving only template escaping in the
way.  :func:`fetcher` serves ``data:`` URIs (the charts the report inlines) and files inside the
installed radgov package's ``static`` folders, and refuses everything else (``file:`` elsewhere,
``http(s):``, ``ftp:``...); WeasyPrint then leaves the resource out.

No Django import: the acceptance-test report's PDF engine runs without Django's apps.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, overload
from urllib.parse import unquote, urlsplit

PACKAGE = Path(__file__).resolve().parents[1]  # the installed radgov package


class FetchRefused(ValueError):
    """A URL the PDF renderer will not fetch; WeasyPrint leaves the resource out."""


def _static_file(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise FetchRefused("only radgov's own static files are read")
    path = Path(os.path.realpath(unquote(parts.path)))
    try:
        inside = path.relative_to(PACKAGE)
    except ValueError:
        raise FetchRefused("only radgov's own static files are read") from None
    if len(inside.parts) < 3 or inside.parts[1] != "static" or not path.is_file():
        raise FetchRefused("only radgov's own static files are read")
    return path


def check(url: str) -> None:
    """Refuse (:class:`FetchRefused`) a URL that is neither ``data:`` nor a radgov static
    file."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "file":
        _static_file(url)
    elif scheme != "data":
        raise FetchRefused(f"the PDF renderer fetches no {scheme or 'relative'} URL")


@functools.cache
def _fetcher_class() -> type:
    from weasyprint.urls import URLFetcher

    class Fetcher(URLFetcher):  # type: ignore[misc]
        """WeasyPrint's fetcher, for ``data:`` URIs and radgov's static files only."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data", "file"), allow_redirects=False)

        def fetch(self, url: str, headers: Any = None) -> Any:
            check(url)
            return super().fetch(url, headers)

    return Fetcher


def fetcher() -> Any:
    """A new url_fetcher for WeasyPrint that serves ``data:`` URIs and radgov's own static
    files, and refuses everything else."""
    return _fetcher_class()()


@overload
def render_pdf(html: str) -> bytes: ...
@overload
def render_pdf(html: str, target: str | Path) -> None: ...
def render_pdf(html: str, target: str | Path | None = None) -> bytes | None:
    """Render ``html`` as a PDF: to ``target`` (written through a temporary file beside it,
    then renamed) or, without one, as bytes.  Relative URLs resolve inside the package."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=str(PACKAGE) + os.sep, url_fetcher=fetcher())
    if target is None:
        return document.write_pdf()  # type: ignore[no-any-return]
    out = Path(target)
    tmp = out.with_name(out.name + ".tmp")
    document.write_pdf(tmp)
    tmp.replace(out)
    return None
