"""Page forms; every one is checked again by the service it feeds."""

from __future__ import annotations

from typing import Any

from django import forms
from django.apps import apps
from django.contrib.auth import get_user_model

from radgov.governance.models import (
    CriterionCategory,
    Decision,
    DecisionKind,
    Framework,
    IssueStatus,
    ItemStatus,
    ModelRequest,
    Position,
    Severity,
)


def _model(app: str, name: str) -> Any:
    return apps.get_model(app, name)


def _inv(name: str) -> Any:
    return _model("inventory", name)


def _users() -> Any:
    return get_user_model().objects.filter(is_active=True)


class MemberForm(forms.Form):
    user = forms.ModelChoiceField(queryset=_users())
    position = forms.ChoiceField(choices=Position.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = _users()


class ConflictForm(forms.Form):
    product = forms.ModelChoiceField(queryset=_inv("Product").objects.none(), required=False)
    vendor = forms.CharField(max_length=200, required=False, help_text="or a whole vendor")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = _inv("Product").objects.all()


class RequestForm(forms.Form):
    clinical_need = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    proposed_product = forms.ModelChoiceField(
        queryset=_inv("Product").objects.none(), required=False
    )
    candidate_name = forms.CharField(
        max_length=200, required=False, help_text="when the product is not in the inventory"
    )
    expected_benefit = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["proposed_product"].queryset = _inv("Product").objects.all()


class CandidateForm(forms.Form):
    product = forms.ModelChoiceField(queryset=_inv("Product").objects.none(), required=False)
    name = forms.CharField(max_length=200, required=False, help_text="or a candidate's name")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = _inv("Product").objects.all()


class CriterionForm(forms.Form):
    category = forms.ChoiceField(choices=CriterionCategory.choices)
    name = forms.CharField(max_length=200)
    weight = forms.DecimalField(min_value=0, max_digits=6, decimal_places=2)


class MeetingForm(forms.Form):
    held_on = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    title = forms.CharField(max_length=200, initial="Governance group meeting")


class AttendeesForm(forms.Form):
    attendees = forms.ModelMultipleChoiceField(
        queryset=_users(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = _users()


class AgendaItemForm(forms.Form):
    title = forms.CharField(max_length=200)
    request = forms.ModelChoiceField(queryset=ModelRequest.objects.none(), required=False)
    product = forms.ModelChoiceField(queryset=_inv("Product").objects.none(), required=False)
    deployment = forms.ModelChoiceField(queryset=_inv("Deployment").objects.none(), required=False)
    discussion = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["request"].queryset = ModelRequest.objects.all()
        self.fields["product"].queryset = _inv("Product").objects.all()
        self.fields["deployment"].queryset = _inv("Deployment").objects.select_related(
            "model_version__product__company"
        )


class DecisionForm(forms.Form):
    kind = forms.ChoiceField(choices=DecisionKind.choices)
    motion = forms.CharField(max_length=300)
    agenda_item = forms.ModelChoiceField(queryset=None, required=False)  # type: ignore[arg-type]
    deployment = forms.ModelChoiceField(queryset=_inv("Deployment").objects.none(), required=False)
    product = forms.ModelChoiceField(queryset=_inv("Product").objects.none(), required=False)
    request = forms.ModelChoiceField(queryset=ModelRequest.objects.none(), required=False)
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="required to waive local acceptance testing (IV.E)",
    )
    determination = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="the IRB's determination (IV.H.3)",
    )
    protocol = forms.ModelChoiceField(
        queryset=_model("evaluation", "AcceptanceProtocol").objects.none(),
        required=False,
        label="Protocol amended after results",
        help_text="to accept an amendment made after results were seen (IV.E.2); the "
        "rationale is the reason",
    )
    reconsiders = forms.ModelChoiceField(
        queryset=Decision.objects.none(),
        required=False,
        label="Reconsiders",
        help_text="a final decision of an earlier meeting that this one changes; "
        "the old record stays",
    )

    def __init__(self, *args: Any, meeting: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reconsiders"].queryset = Decision.objects.filter(
            meeting__group=meeting.group,
            meeting__closed_at__isnull=False,
            meeting__held_on__lt=meeting.held_on,
        ).select_related("meeting")
        self.fields["reconsiders"].label_from_instance = lambda d: (
            f"#{d.pk} {d.motion} ({d.meeting.held_on:%Y-%m-%d})"
        )
        self.fields["protocol"].queryset = (
            _model("evaluation", "AcceptanceProtocol")
            .objects.filter(amended_after_results=True)
            .select_related("deployment__model_version__product__company")
        )
        self.fields["protocol"].label_from_instance = lambda p: (
            f"{p.deployment}: version {p.version} ({p.amendment_reason[:60]})"
        )
        self.fields["agenda_item"].queryset = meeting.agenda.all()
        self.fields["deployment"].queryset = _inv("Deployment").objects.select_related(
            "model_version__product__company"
        )
        self.fields["product"].queryset = _inv("Product").objects.all()
        self.fields["request"].queryset = ModelRequest.objects.filter(group=meeting.group)


class GroupSettingsForm(forms.Form):
    votes_visible_to_staff = forms.BooleanField(
        required=False,
        label="Every staff member sees vote tallies and who voted how",
    )
    conflicts_visible_to_staff = forms.BooleanField(
        required=False,
        label="Every staff member sees the declared conflicts of interest",
    )


class NotesForm(forms.Form):
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False)


class IssueForm(forms.Form):
    deployment = forms.ModelChoiceField(queryset=_inv("Deployment").objects.none(), required=False)
    model_version = forms.ModelChoiceField(
        queryset=_inv("ModelVersion").objects.none(), required=False
    )
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MODERATE)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What happened. No patient names, MRNs or accession numbers.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        from radgov.inventory import selectors as inventory

        super().__init__(*args, **kwargs)
        self.fields["deployment"].queryset = inventory.visible_deployments(user)
        self.fields["model_version"].queryset = inventory.visible_versions(user)


class IssueUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=IssueStatus.choices)
    resolution = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class RegulatoryItemForm(forms.Form):
    framework = forms.ChoiceField(choices=Framework.choices)
    status = forms.ChoiceField(choices=ItemStatus.choices)
    owner = forms.ModelChoiceField(queryset=_users(), required=False)
    evidence = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    reviewed_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _users()


class BaaForm(forms.Form):
    vendor = forms.CharField(max_length=200)
    covers_phi = forms.BooleanField(required=False, initial=True, label="Covers PHI")
    signed_on = forms.DateField(label="Signed on", widget=forms.DateInput(attrs={"type": "date"}))
    expires_on = forms.DateField(
        required=False, label="Expires on", widget=forms.DateInput(attrs={"type": "date"})
    )
    document_reference = forms.CharField(
        max_length=300, required=False, help_text="where the signed agreement is kept"
    )


class ProfileForm(forms.Form):
    local_use = forms.ChoiceField(
        choices=(), help_text="how the practice uses the product, in the inventory's categories"
    )
    scope_of_clearance = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    off_label_decision = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Off-label decision",
        help_text="the group's informed decision, when the local use is off-label (V)",
    )
    phi_reaches_vendor = forms.BooleanField(required=False, label="PHI reaches the vendor")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["local_use"].choices = _inv("Product")._meta.get_field("category").choices
