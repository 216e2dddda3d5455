"""Forms of the inventory pages.  They only read input; the services decide and save."""

from __future__ import annotations

from typing import Any

from django import forms

from radgov.accounts.models import User
from radgov.core.roles import Role
from radgov.dicom.criteria import SEXES, Criteria
from radgov.inventory.models import Deployment, DocumentKind, ModelVersion, Product
from radgov.inventory.services import DEPLOYMENT_PEOPLE, PRODUCT_FIELDS, VERSION_FIELDS

DATE = forms.DateInput(attrs={"type": "date"})
TEXT = {"rows": 3}


class ProductForm(forms.ModelForm):
    vendor = forms.CharField(
        max_length=200, help_text="the manufacturer/developer; products of one company share it"
    )

    class Meta:
        model = Product
        fields = [f for f in PRODUCT_FIELDS if f != "vendor"]
        widgets = {
            "vendor_contact": forms.Textarea(attrs={"rows": 2}),
            "support_contact": forms.Textarea(attrs={"rows": 2}),
            "description": forms.Textarea(attrs=TEXT),
        }
        labels = {
            "fda_number": "FDA number",
            "fda_product_code": "FDA product code",
            "ce_ukca": "CE / UKCA marking",
            "not_regulated_reason": "Why it is not FDA-regulated",
        }

    field_order = list(PRODUCT_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["vendor"].initial = self.instance.vendor

    def validate_unique(self) -> None:  # the service checks, with the rule's wording
        pass


class VersionForm(forms.ModelForm):
    class Meta:
        model = ModelVersion
        fields = ["version", *VERSION_FIELDS]
        widgets = {
            "release_date": DATE,
            "advance_notice_date": DATE,
            **{
                name: forms.Textarea(attrs=TEXT)
                for name in VERSION_FIELDS
                if name
                not in (
                    "release_date",
                    "advance_notice_date",
                    "claimed_sensitivity",
                    "claimed_specificity",
                    "model_type",
                    "decision_role",
                    "clinical_risk_level",
                    "funding_source",
                )
            },
        }
        labels = {
            "claimed_sensitivity": "Sensitivity claimed in the IFU (0 to 1)",
            "claimed_specificity": "Specificity claimed in the IFU (0 to 1)",
            "performance_factors": "Factors that change performance",
            "advance_notice_date": "Vendor's advance notice",
            "out_of_scope_use": "Out-of-scope use",
            "known_biases": "Known biases and ethical considerations",
            "clinical_risk_level": "Clinical risk level",
            "decision_role": "Intended decision-making role",
            "development_data": "Development (training) data",
            "external_validation": "External validation",
            "claim_source": "Source of the claim",
        }

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["version"]

    def validate_unique(self) -> None:
        pass


def person_label(user: User) -> str:
    """How a person reads in a picker: user name, then full name and role."""
    full = user.get_full_name()
    return f"{user.username} ({full + ', ' if full else ''}{user.role_label})"


class PeopleField(forms.ModelMultipleChoiceField):
    """Active people as checkboxes, each with their name and role."""

    def label_from_instance(self, obj: User) -> str:  # type: ignore[override]
        return person_label(obj)


class PersonField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:  # type: ignore[override]
        return person_label(obj)


ACTIVE = User.objects.filter(is_active=True).order_by("username")
# only people who fit the role are offered (the service refuses anyone else, naming why)
CHAMPIONS = ACTIVE.filter(is_clinical_champion=True, is_governance_member=False).exclude(
    role=Role.VENDOR
)
QUALIFIED_END_USERS = ACTIVE.filter(role=Role.PHYSICIAN).exclude(license_number="")


def _people_field(
    label: str, help_text: str = "", *, queryset: Any = QUALIFIED_END_USERS
) -> forms.ModelMultipleChoiceField:
    return PeopleField(
        queryset=queryset,
        required=False,
        label=label,
        help_text=help_text,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "people"}),
    )


def _split(text: str) -> list[str]:
    return [part.strip() for part in (text or "").replace(";", ",").split(",") if part.strip()]


class DeploymentForm(forms.Form):
    site = forms.CharField(max_length=200)
    clinical_champions = _people_field(
        "Clinical champions",
        "designated clinical champions who are not governance-group members (IV.A.4)",
        queryset=CHAMPIONS,
    )
    end_users = _people_field("Qualified end-users", "physicians with a recorded license (III.A.1)")
    pilot_users = _people_field(
        "Pilot group", "the small named group of qualified end-users (at most 10)"
    )
    technical_contact = PersonField(
        queryset=ACTIVE.exclude(role=Role.VENDOR),
        required=False,
        label="Local technical contact",
    )
    # inclusion / exclusion criteria (IV.B.2.f), evaluated by radgov.dicom.criteria
    modalities = forms.CharField(required=False, help_text="comma-separated, e.g. CT, MR")
    body_parts = forms.CharField(
        required=False, label="Body parts", help_text="BodyPartExamined values, e.g. HEAD, BRAIN"
    )
    min_age_years = forms.FloatField(required=False, min_value=0, label="Minimum age (years)")
    max_age_years = forms.FloatField(required=False, min_value=0, label="Maximum age (years)")
    sexes = forms.MultipleChoiceField(
        required=False,
        choices=[(s, s) for s in SEXES],
        widget=forms.CheckboxSelectMultiple,
        label="Patient sex",
    )
    manufacturers = forms.CharField(required=False, help_text="patterns, e.g. GE*, SIEMENS*")
    protocol_patterns = forms.CharField(
        required=False, label="Protocol name patterns", help_text="e.g. *HEAD*WO*"
    )
    min_slice_thickness_mm = forms.FloatField(
        required=False, min_value=0, label="Minimum slice thickness (mm)"
    )
    max_slice_thickness_mm = forms.FloatField(
        required=False, min_value=0, label="Maximum slice thickness (mm)"
    )
    min_kvp = forms.FloatField(required=False, min_value=0, label="Minimum kVp")
    max_kvp = forms.FloatField(required=False, min_value=0, label="Maximum kVp")
    contrast = forms.ChoiceField(
        choices=[("any", "any"), ("yes", "contrast required"), ("no", "non-contrast only")],
        initial="any",
    )
    routing_notes = forms.CharField(
        required=False, widget=forms.Textarea(attrs=TEXT), label="DICOM / HL7 / FHIR routing notes"
    )
    output_release_policy = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs=TEXT),
        help_text="how and when results reach the medical record (IV.C.2)",
    )

    CRITERIA_LIST_FIELDS = ("modalities", "body_parts", "manufacturers", "protocol_patterns")

    @classmethod
    def initial_for(cls, deployment: Deployment) -> dict[str, Any]:
        criteria = Criteria.from_dict(deployment.inclusion_criteria or {}).to_dict()
        initial: dict[str, Any] = {
            "site": deployment.site,
            "technical_contact": deployment.technical_contact,
            "routing_notes": deployment.routing_notes,
            "output_release_policy": deployment.output_release_policy,
        }
        for name in DEPLOYMENT_PEOPLE:
            initial[name] = list(getattr(deployment, name).all())
        for key, value in criteria.items():
            initial[key] = ", ".join(value) if key in cls.CRITERIA_LIST_FIELDS else value
        return initial

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        criteria: dict[str, Any] = {
            key: _split(data[key]) for key in self.CRITERIA_LIST_FIELDS if data.get(key)
        }
        for key in (
            "min_age_years",
            "max_age_years",
            "min_slice_thickness_mm",
            "max_slice_thickness_mm",
            "min_kvp",
            "max_kvp",
        ):
            if data.get(key) is not None:
                criteria[key] = data[key]
        if data.get("sexes"):
            criteria["sexes"] = data["sexes"]
        criteria["contrast"] = data.get("contrast") or "any"
        return {
            "site": data["site"],
            "technical_contact": data.get("technical_contact"),
            "inclusion_criteria": criteria,
            "routing_notes": data.get("routing_notes", ""),
            "output_release_policy": data.get("output_release_policy", ""),
            **{name: list(data.get(name) or []) for name in DEPLOYMENT_PEOPLE},
        }


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(choices=DocumentKind.choices, initial=DocumentKind.IFU)
    version_label = forms.CharField(
        max_length=64, help_text="the document's own revision, e.g. Rev C"
    )
    title = forms.CharField(max_length=200, required=False)
    file = forms.FileField(help_text="PDF only")


class TransitionForm(forms.Form):
    to = forms.CharField()
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class UpgradeForm(forms.Form):
    version = forms.ModelChoiceField(
        queryset=ModelVersion.objects.none(),
        empty_label="choose a version",
        widget=forms.Select(attrs={"style": "width:auto"}),
    )

    def __init__(self, *args: Any, deployment: Deployment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["version"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = ModelVersion.objects.filter(
            product_id=deployment.model_version.product_id
        ).exclude(pk=deployment.model_version_id)


class CalculatorForm(forms.Form):
    prevalence = forms.FloatField(
        min_value=0.0,
        max_value=100.0,
        label="Prevalence in your practice (%)",
        help_text="the share of studies that have the finding, e.g. 2.5",
    )


class RepresentativeForm(forms.Form):
    account = PersonField(
        queryset=ACTIVE.filter(role=Role.VENDOR, vendor_companies__isnull=True),
        label="Vendor account",
        help_text="a vendor account that belongs to no company yet",
    )
