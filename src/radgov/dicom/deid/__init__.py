"""DICOM de-identification: PS3.15 Basic Application Level Confidentiality Profile (+ options).

Pure (no Django).  Entry points:

* :func:`radgov.dicom.deid.profile.compile_profile` - Table E.1-1 + options + site rules;
* :class:`radgov.dicom.deid.engine.Deidentifier` - one dataset, de-identified in place;
* :func:`radgov.dicom.deid.runner.run` - a folder or file in, a mirrored tree out, a report;
* :func:`radgov.dicom.deid.mapping.read_mapping` - decrypt a re-identification mapping table.
"""
