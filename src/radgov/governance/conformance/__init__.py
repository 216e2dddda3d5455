"""The conformance audit: every requirement of sections IV and V of the practice
parameter that software can check, checked live against the practice's records,
for the practice as a whole and for each live deployment (``checks``), gathered
into a report (``audit``), shown as a page, a PDF and JSON."""
