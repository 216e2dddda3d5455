"""What machines may do at the gateway (docs/gateway.md, "Peers").

A DICOM peer (a modality, a PACS) is registered by an administrator with its calling AE
title and address and given ``gateway.store``; the listener refuses the association of any
other.  Routing and sending run as the task principals ``task:gateway.route`` and
``task:gateway.send``, which record exams and inferences through ``exams.services`` (grant
``exams.record``).
"""

from __future__ import annotations

from radgov.core.policy import Rule, grant, only, patient_data
from radgov.core.roles import Role

GRANTS = {
    "gateway.store": grant("send DICOM instances to radgov's listener (C-STORE)", "dicom_peer"),
}

TASKS = {
    "gateway.route": ("exams.record",),
    "gateway.send": ("exams.record",),
    "gateway.results": ("exams.record",),
}

# the technologist remediation queue (III.E.1.d): patient-linked, so never the vendor
REMEDIATION = patient_data(Role.TECHNOLOGIST, Role.INFORMATICS, Role.ADMINISTRATOR)

RULES: dict[str, Rule] = {
    "gateway:remediation": REMEDIATION,
    "gateway:remediate": REMEDIATION,
    # who called the listener (AE titles, addresses, counts; no patient data)
    "gateway:associations": only(Role.INFORMATICS, Role.ADMINISTRATOR, Role.COMPLIANCE),
}
