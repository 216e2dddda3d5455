"""A site's de-identification configuration (YAML), validated with errors naming key and value.

Example::

    keep: ["(0008,0070)", StudyDescription]      # tags or keywords to keep as they are
    remove: ["0018,1030"]                         # tags or keywords to remove
    replace: {InstitutionName: "RESEARCH SITE"}   # fixed values
    safe_private:                                 # kept with --option retain-safe-private
      - {creator: "SIEMENS CT VA0  COAD", element: "xx10"}       # any odd group
      - {creator: "GEMS_ACQU_01", group: "0019", element: "1A"}  # one group only
    pixel_masks:                                  # zeroed with --option clean-pixel-data
      - {manufacturer: "ACME", model: "US-1", rows: 480, columns: 640,
         regions: [[0, 0, 640, 40]]}               # x, y, width, height

Site rules win over the profile: a site that keeps an identifying attribute takes that
responsibility, and the report lists the rules in force.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydicom.datadict import tag_for_keyword

from radgov.dicom.deid.burnedin import PixelMask
from radgov.dicom.deid.profile import SiteRules

_KNOWN_KEYS = {"keep", "remove", "replace", "safe_private", "pixel_masks"}
_TAG_RE = re.compile(r"^\(?\s*([0-9A-Fa-f]{4})\s*,?\s*([0-9A-Fa-f]{4})\s*\)?$")


class ConfigError(ValueError):
    """The configuration file is not valid; the message names the key and the value."""


@dataclass(frozen=True)
class SiteConfig:
    rules: SiteRules = field(default_factory=SiteRules)
    safe_private: tuple[tuple[int | None, str, int], ...] = ()
    pixel_masks: tuple[PixelMask, ...] = ()


def parse_tag(value: object, where: str) -> int:
    """A tag from ``"(0010,0010)"``, ``"0010,0010"``, ``"00100010"`` or a keyword."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        match = _TAG_RE.match(value.strip())
        if match:
            return int(match.group(1) + match.group(2), 16)
        tag = tag_for_keyword(value.strip())
        if tag is not None:
            return int(tag)
    raise ConfigError(f'{where}: {value!r} is not a DICOM tag like "(0010,0010)" nor a keyword')


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list, got {value!r}")
    return value


def _int(value: object, where: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: expected an integer >= {minimum}, got {value!r}")
    return value


def parse_config(data: object) -> SiteConfig:
    if data is None:
        return SiteConfig()
    if not isinstance(data, dict):
        raise ConfigError(f"the configuration must be a mapping of keys, got {data!r}")
    unknown = set(data) - _KNOWN_KEYS
    if unknown:
        raise ConfigError(f"unknown key(s) {sorted(unknown)}; known keys: {sorted(_KNOWN_KEYS)}")
    keep = frozenset(parse_tag(v, f"keep[{i}]") for i, v in enumerate(_list(data, "keep")))
    remove = frozenset(parse_tag(v, f"remove[{i}]") for i, v in enumerate(_list(data, "remove")))
    both = keep & remove
    if both:
        raise ConfigError(f"keep and remove both name {sorted(f'{t:08X}' for t in both)}")
    replace_raw = data.get("replace", {}) or {}
    if not isinstance(replace_raw, dict):
        raise ConfigError(f"replace: expected a mapping of tag: value, got {replace_raw!r}")
    replace: dict[int, str] = {}
    for key, value in replace_raw.items():
        tag = parse_tag(key, f"replace[{key!r}]")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ConfigError(f"replace[{key!r}]: expected a text or number value, got {value!r}")
        replace[tag] = str(value)
    safe: list[tuple[int | None, str, int]] = []
    for i, entry in enumerate(_list(data, "safe_private")):
        where = f"safe_private[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("creator"), str):
            raise ConfigError(f"{where}: expected {{creator: ..., element: ...}}, got {entry!r}")
        element = str(entry.get("element", "")).lower().removeprefix("xx").removeprefix("0x")
        if not re.fullmatch(r"[0-9a-f]{2}", element):
            raise ConfigError(
                f'{where}.element: {entry.get("element")!r} is not an element offset like "xx10"'
            )
        group_raw = entry.get("group")
        group: int | None = None
        if group_raw is not None:
            text = str(group_raw).lower().removeprefix("0x")
            if not re.fullmatch(r"[0-9a-f]{4}", text) or not int(text, 16) & 1:
                raise ConfigError(f"{where}.group: {group_raw!r} is not an odd (private) group")
            group = int(text, 16)
        safe.append((group, entry["creator"].strip(), int(element, 16)))
    masks: list[PixelMask] = []
    for i, entry in enumerate(_list(data, "pixel_masks")):
        where = f"pixel_masks[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping, got {entry!r}")
        for text_key in ("manufacturer", "model"):
            if not isinstance(entry.get(text_key), str) or not entry[text_key].strip():
                raise ConfigError(f"{where}.{text_key}: expected text, got {entry.get(text_key)!r}")
        rows = _int(entry.get("rows"), f"{where}.rows", 1)
        columns = _int(entry.get("columns"), f"{where}.columns", 1)
        regions_raw = entry.get("regions")
        if not isinstance(regions_raw, list) or not regions_raw:
            raise ConfigError(
                f"{where}.regions: expected a list of [x, y, width, height], got {regions_raw!r}"
            )
        regions: list[tuple[int, int, int, int]] = []
        for j, region in enumerate(regions_raw):
            rwhere = f"{where}.regions[{j}]"
            if not isinstance(region, list) or len(region) != 4:
                raise ConfigError(f"{rwhere}: expected [x, y, width, height], got {region!r}")
            x, y = _int(region[0], f"{rwhere}.x"), _int(region[1], f"{rwhere}.y")
            w, h = _int(region[2], f"{rwhere}.width", 1), _int(region[3], f"{rwhere}.height", 1)
            if x + w > columns or y + h > rows:
                raise ConfigError(f"{rwhere}: {region!r} falls outside a {columns}x{rows} image")
            regions.append((x, y, w, h))
        masks.append(
            PixelMask(
                manufacturer=entry["manufacturer"].strip(),
                model=entry["model"].strip(),
                rows=rows,
                columns=columns,
                regions=tuple(regions),
            )
        )
    return SiteConfig(
        rules=SiteRules(keep=keep, remove=remove, replace=replace),
        safe_private=tuple(safe),
        pixel_masks=tuple(masks),
    )


def load_config(path: str | Path) -> SiteConfig:
    """Read and validate a YAML configuration file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the configuration file {str(path)!r}: {exc.strerror}"
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{str(path)!r} is not valid YAML: {exc}") from exc
    return parse_config(data)
