"""The roles of section III of the practice parameter, and the two capacities a
person can hold besides a role."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    PHYSICIAN = "physician", "Physician / qualified end-user"
    MEDICAL_PHYSICIST = "medical_physicist", "Medical physicist"
    INFORMATICS = "informatics", "Imaging informatics / IT"
    DATA_SCIENTIST = "data_scientist", "Data scientist"
    TECHNOLOGIST = "technologist", "Technologist"
    VENDOR = "vendor", "Vendor / developer"
    ADMINISTRATOR = "administrator", "Administrator"
    COMPLIANCE = "compliance", "Legal / compliance / privacy"


class Capacity(models.TextChoices):
    GOVERNANCE_MEMBER = "governance_member", "Governance-group member"
    CLINICAL_CHAMPION = "clinical_champion", "Clinical champion"
