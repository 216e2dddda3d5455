"""radgov: governance of imaging AI following the ACR-SIIM Practice Parameter."""

__version__ = "0.1.0"
