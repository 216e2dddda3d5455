from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator

from radgov.core.roles import Role


class UserForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=Role.choices)
    governance_member = forms.BooleanField(required=False, label="Governance-group member")
    clinical_champion = forms.BooleanField(required=False, label="Clinical champion")
    license_number = forms.CharField(
        max_length=64,
        required=False,
        label="License to practise",
        help_text="physicians only: jurisdiction and number (III.A.1)",
    )


class LicenseForm(forms.Form):
    license_number = forms.CharField(max_length=64, required=False, label="License")


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. 'PACS integration'"
    )
    days = forms.IntegerField(min_value=1, initial=90, label="Valid for (days)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from radgov.accounts.services import max_token_days

        super().__init__(*args, **kwargs)
        longest = max_token_days()
        self.fields["days"].max_value = longest
        self.fields["days"].validators.append(MaxValueValidator(longest))
        self.fields["days"].initial = min(90, longest)
        self.fields["days"].widget.attrs["max"] = longest
