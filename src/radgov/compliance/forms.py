from __future__ import annotations

from typing import Any

from django import forms

from radgov.compliance.deid_options import option_choices
from radgov.compliance.models import DeidJob


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class DeidJobForm(forms.Form):
    purpose = forms.CharField(
        max_length=300,
        help_text="Why the images are de-identified, e.g. 'local acceptance testing of ICH triage v2'.",
    )
    source_kind = forms.ChoiceField(
        label="Source",
        choices=[
            (DeidJob.SourceKind.UPLOAD, "Upload DICOM files or a .zip"),
            (DeidJob.SourceKind.SERVER_FOLDER, "A folder on the server"),
        ],
        initial=DeidJob.SourceKind.UPLOAD,
        widget=forms.RadioSelect,
    )
    files = MultipleFileField(
        required=False,
        label="DICOM files or a .zip",
        help_text="Kept on the server only until the run succeeds, then deleted (they hold PHI).",
    )
    source = forms.CharField(
        required=False,
        max_length=1000,
        label="Server folder",
        help_text="A path inside one of the folders the administrator allowed (RADGOV_DEID_ROOTS).",
    )
    options = forms.MultipleChoiceField(
        required=False,
        choices=option_choices,
        widget=forms.CheckboxSelectMultiple,
        label="Options (PS3.15 Annex E)",
        help_text="Without options, the Basic Profile removes or replaces every identifying attribute.",
    )
