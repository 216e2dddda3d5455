"""What machines may do at the gateway (docs/gateway.md, "Peers").

A DICOM peer (a modality, a PACS) is registered by an administrator with its calling AE
title and address and given ``gateway.store``; the listener refuses the association of any
other.  An HL7 peer (the RIS) is registered with its address (and MSH-3^MSH-4) and given
``gateway.report``; the MLLP listener answers any other AR.  Routing and sending run as the
task principals ``task:gateway.route`` and ``task:gateway.send``, which record exams and
inferences through ``exams.services`` (grant ``exams.record``); the reports the MLLP listener
takes are recorded by ``task:gateway.reports``.
"""

from __future__ import annotations

from radgov.core.policy import Rule, grant, only, patient_data
from radgov.core.roles import Role

GRANTS = {
    "gateway.store": grant("send DICOM instances to radgov's listener (C-STORE)", "dicom_peer"),
    "gateway.report": grant(
        "send reports to radgov's MLLP listener (HL7 ORU^R01, MDM^T02)", "mllp_peer"
    ),
}

TASKS = {
    "gateway.route": ("exams.record",),
    "gateway.send": ("exams.record",),
    "gateway.results": ("exams.record",),
    "gateway.reports": ("exams.record",),  # records what MLLP peers send in monitoring
    "gateway.recover": (),  # records the spooled images of a listener killed before their rows
}

# the technologist remediation queue (III.E.1.d): patient-linked, so never the vendor
REMEDIATION = patient_data(Role.TECHNOLOGIST, Role.INFORMATICS, Role.ADMINISTRATOR)

ENDPOINTS = only(Role.INFORMATICS, Role.ADMINISTRATOR)

RULES: dict[str, Rule] = {
    "gateway:remediation": REMEDIATION,
    "gateway:remediate": REMEDIATION,
    # who called the listener (AE titles, addresses, counts; no patient data)
    "gateway:associations": only(Role.INFORMATICS, Role.ADMINISTRATOR, Role.COMPLIANCE),
    # where each deployment's model receives studies (no patient data)
    "gateway:endpoints": ENDPOINTS,
    "api:gateway_list_endpoints": ENDPOINTS,
    "api:gateway_set_endpoint": ENDPOINTS,
    "api:gateway_test_endpoint": ENDPOINTS,
}
