"""Pure DICOM helpers: de-identification, criteria, SR/SEG builders, audit messages (no Django)."""
