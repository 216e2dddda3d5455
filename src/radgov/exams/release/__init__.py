"""Release of a reviewed AI result (issue 16): what goes out (``content``), and the same
content in each standard: DICOM SR TID 1500 (``radgov.dicom.sr``), HL7 v2.5.1 ORU^R01
(``hl7``) and a FHIR R4 bundle (``fhir``).  Building is pure: Django is only in
``content.gather``, which reads the records."""
