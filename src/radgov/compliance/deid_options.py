"""The PS3.15 options a de-identification job offers, in plain language, and the engine's
``RunSettings`` built from option names and site rules.

``run_settings`` is what a job and ``radgov deid`` both need (option names + site
configuration -> ``RunSettings``); the command still builds its own and could call this.
"""

from __future__ import annotations

from collections.abc import Iterable

from radgov.dicom.deid.config import SiteConfig
from radgov.dicom.deid.profile import UNSUPPORTED_OPTIONS, Option, compile_profile
from radgov.dicom.deid.runner import RunSettings

# What each option does to the output, for the person choosing it (PS3.15 Annex E, CID 7050).
MEANINGS: dict[Option, str] = {
    Option.RETAIN_LONGITUDINAL_MODIFIED_DATES: (
        "Shift every date of a patient by the same secret offset: intervals between studies "
        "are kept, the real dates are not."
    ),
    Option.RETAIN_LONGITUDINAL_FULL_DATES: (
        "Keep the real dates and times. Only when exact dates are needed and allowed."
    ),
    Option.RETAIN_PATIENT_CHARACTERISTICS: (
        "Keep sex, age, size, weight and similar characteristics (for subgroup analysis)."
    ),
    Option.RETAIN_DEVICE_IDENTITY: (
        "Keep the scanner's identity (serial number, station name), to compare a model "
        "across devices."
    ),
    Option.RETAIN_INSTITUTION_IDENTITY: "Keep the name and address of the institution.",
    Option.RETAIN_UIDS: (
        "Keep the original study, series and instance UIDs. Only when the output stays "
        "inside the practice."
    ),
    Option.CLEAN_DESCRIPTORS: (
        "Keep study, series and protocol descriptions with identifying text cleaned out, "
        "instead of removing them."
    ),
    Option.CLEAN_STRUCTURED_CONTENT: (
        "Keep the text of structured reports (SR) with identifying text cleaned out, instead "
        "of replacing it with a dummy value."
    ),
    Option.CLEAN_GRAPHICS: (
        "Keep graphic annotations with identifying text cleaned out, instead of removing them."
    ),
}

# Options that act only through a site configuration (pixel masks, the safe-private list),
# which jobs started in the platform do not take.
NEEDS_SITE_CONFIG = frozenset({Option.CLEAN_PIXEL_DATA, Option.RETAIN_SAFE_PRIVATE})

JOB_OPTIONS: tuple[Option, ...] = tuple(
    o for o in Option if o not in UNSUPPORTED_OPTIONS and o not in NEEDS_SITE_CONFIG
)


def option_choices() -> list[tuple[str, str]]:
    """(name, label) for a form: the option's DICOM meaning and what it does."""
    return [(o.cli_name, f"{o.code_meaning}: {MEANINGS[o]}") for o in JOB_OPTIONS]


def job_options(names: Iterable[str]) -> list[Option]:
    """The options named (CID 7050 names as ``radgov deid --option`` takes them), checked for
    what a job can do; ``ValueError`` names the rule broken."""
    chosen: list[Option] = []
    for name in names:
        option = Option.from_name(name)
        if option in NEEDS_SITE_CONFIG:
            raise ValueError(
                f"the option {option.cli_name} acts only through site rules (pixel masks or a "
                "safe-private list), which de-identification jobs do not take; use "
                "`radgov deid --config`"
            )
        if option not in chosen:
            chosen.append(option)
    compile_profile(chosen)  # refuses unsupported options and exclusive pairs, with the reason
    return sorted(chosen, key=lambda o: o.cli_name)


def run_settings(
    options: Iterable[Option],
    *,
    key: bytes,
    site: SiteConfig | None = None,
    record_mapping: bool = False,
) -> RunSettings:
    """The engine's settings from options and a site configuration (``ValueError`` if the
    options exclude each other or cannot be performed)."""
    site = site or SiteConfig()
    return RunSettings(
        key=key,
        profile=compile_profile(list(options), site.rules),
        safe_private=site.safe_private,
        pixel_masks=site.pixel_masks,
        record_mapping=record_mapping,
    )
