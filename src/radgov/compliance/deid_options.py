"""The PS3.15 options a de-identification job offers, in plain language; the site's
configuration (``RADGOV_DEID_CONFIG``); and the engine's ``RunSettings`` built from options and
site rules, for jobs from a page, the API and ``radgov deid`` alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.checks import Error, Tags, register

from radgov.core import config
from radgov.dicom.deid.config import ConfigError, SiteConfig, load_config
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
    Option.CLEAN_PIXEL_DATA: (
        "Black out the regions of burned-in text that the site configuration lists for a "
        "scanner model."
    ),
    Option.RETAIN_SAFE_PRIVATE: (
        "Keep the private attributes the site configuration lists as safe; remove the others."
    ),
}


def site_config() -> SiteConfig:
    """The site's de-identification rules: the YAML file ``RADGOV_DEID_CONFIG`` names (none
    when it is empty); ``ConfigError`` names the key and value that are wrong."""
    path = config.get("RADGOV_DEID_CONFIG")
    return load_config(path) if path else SiteConfig()


@register(Tags.security)
def check_deid_settings(app_configs: Any, **kwargs: Any) -> list[Error]:
    """A site configuration every job would fail on, or no process for a job, stops radgov
    where it starts, not at the first job."""
    errors = []
    try:
        site_config()
    except ConfigError as exc:
        errors.append(Error(f"RADGOV_DEID_CONFIG: {exc}", id="radgov.compliance.E002"))
    if config.get_int("RADGOV_DEID_JOBS") < 1:
        errors.append(Error("RADGOV_DEID_JOBS must be at least 1", id="radgov.compliance.E003"))
    return errors


def _missing_site_rules(option: Option, site: SiteConfig) -> str:
    """What an option that acts only through site rules lacks in ``site`` ("" if nothing)."""
    if option == Option.CLEAN_PIXEL_DATA and not site.pixel_masks:
        return "pixel masks"
    if option == Option.RETAIN_SAFE_PRIVATE and not site.safe_private:
        return "a safe-private list"
    return ""


def offered_options(site: SiteConfig) -> tuple[Option, ...]:
    """The options a job may choose: every supported one, except an option acting through site
    rules that the site configuration does not hold."""
    return tuple(
        o for o in Option if o not in UNSUPPORTED_OPTIONS and not _missing_site_rules(o, site)
    )


def offered() -> tuple[Option, ...]:
    """The options a page offers with this server's site configuration; one that cannot be
    read offers no option needing it (creating the job then says what is wrong with it)."""
    try:
        site = site_config()
    except ConfigError:
        site = SiteConfig()
    return offered_options(site)


def option_choices() -> list[tuple[str, str]]:
    """(name, label) for a form: the option's DICOM meaning and what it does."""
    return [(o.cli_name, f"{o.code_meaning}: {MEANINGS[o]}") for o in offered()]


def job_options(names: Iterable[str], site: SiteConfig) -> list[Option]:
    """The options named (CID 7050 names as ``radgov deid --option`` takes them), checked for
    what a job can do with the site's configuration; ``ValueError`` names the rule broken."""
    chosen: list[Option] = []
    for name in names:
        option = Option.from_name(name)
        missing = _missing_site_rules(option, site)
        if missing:
            raise ValueError(
                f"the option {option.cli_name} acts only through site rules ({missing}), which "
                "the site configuration (RADGOV_DEID_CONFIG) does not hold"
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
