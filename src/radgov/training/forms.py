from __future__ import annotations

from typing import Any

from django import forms

from radgov.core.roles import Role
from radgov.training.models import Complexity, TrainingProcedure

END_USER_ROLES = [(r.value, r.label) for r in Role if r != Role.VENDOR]


class ProcedureForm(forms.Form):
    model_version = forms.ModelChoiceField(queryset=None, label="Model version")  # type: ignore[arg-type]
    title = forms.CharField(max_length=200)
    content = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="What the training covers: inputs, outputs, how to read them, limitations, cases.",
    )
    complexity = forms.ChoiceField(choices=Complexity.choices)
    complexity_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Why this complexity suits the use case",
        help_text="IV.F.1: training appropriate to the complexity of the clinical use case.",
    )
    required_roles = forms.MultipleChoiceField(
        choices=END_USER_ROLES,
        widget=forms.CheckboxSelectMultiple,
        label="Required for",
        initial=[Role.PHYSICIAN.value],
    )
    validity_months = forms.IntegerField(
        min_value=1, max_value=60, initial=12, label="Valid for (months)"
    )
    is_supplemental = forms.BooleanField(
        required=False,
        label="Supplemental training (after some time in use, IV.F.3)",
    )
    self_attestation = forms.BooleanField(
        required=False,
        label="Trainees record their own completion (basic self-study only)",
        help_text="Otherwise the trainer signs each completion off by recording it.",
    )

    def __init__(self, *args: Any, procedure: TrainingProcedure | None = None, **kwargs: Any):
        from radgov.inventory.models import ModelVersion

        super().__init__(*args, **kwargs)
        field = self.fields["model_version"]
        field.queryset = ModelVersion.objects.select_related("product__company")  # type: ignore[attr-defined]
        if procedure is not None:  # the version and the kind are fixed once made
            for name in ("model_version", "is_supplemental"):
                self.fields[name].disabled = True


class CompleteForm(forms.Form):
    completed = forms.BooleanField(label="I have completed this training")
    attest_ifu = forms.BooleanField(required=False, label="I have read the IFU")


class RecordForm(forms.Form):
    procedure = forms.ModelChoiceField(queryset=None)  # type: ignore[arg-type]
    user = forms.ModelChoiceField(queryset=None, label="Trainee")  # type: ignore[arg-type]
    completed_on = forms.DateField(
        label="Completed on", widget=forms.DateInput(attrs={"type": "date"})
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, procedures: Any, people: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["procedure"].queryset = procedures  # type: ignore[attr-defined]
        self.fields["user"].queryset = people  # type: ignore[attr-defined]
        self.fields["procedure"].label_from_instance = lambda p: (  # type: ignore[attr-defined]
            f"{p.model_version} · {p.title}"
        )
