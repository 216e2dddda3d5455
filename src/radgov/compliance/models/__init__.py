"""The compliance app's records, split by subdomain: de-identification jobs (``deid``), retention
and purge with legal holds (``retention``), unusual-access cases and privacy incidents
(``privacy``), the Notice of Privacy Practices and reminders (``notices``)."""

from radgov.compliance.models.deid import DeidJob
from radgov.compliance.models.notices import NoticeCoverage, PrivacyNotice, Reminder
from radgov.compliance.models.privacy import AccessCase, Incident
from radgov.compliance.models.retention import LegalHold, PurgeRun, RetentionPolicy

__all__ = [
    "AccessCase",
    "DeidJob",
    "Incident",
    "LegalHold",
    "NoticeCoverage",
    "PrivacyNotice",
    "PurgeRun",
    "Reminder",
    "RetentionPolicy",
]
