"""Pure DICOM helpers (no Django, ARCHITECTURE.md rule 1).

- :mod:`radgov.dicom.deid`: de-identification (the PS3.15 profile and its options, site
  configuration, the keyed mapping, burned-in text, the runner over folders);
- :mod:`radgov.dicom.criteria`: a deployment's inclusion and exclusion criteria, evaluated
  against a study's attributes;
- :mod:`radgov.dicom.sr`: the reviewed AI result as a TID 1500 Measurement Report (highdicom).

Elsewhere: the audit trail as DICOM audit messages (PS3.15 A.5) is
``radgov.core.audit.export_dicom``; a model's SEG is received and forwarded as it came
(``radgov.gateway.results``), radgov builds none.
"""
