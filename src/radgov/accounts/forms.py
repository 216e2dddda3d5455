from __future__ import annotations

from django import forms

from radgov.core.roles import Role


class UserForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=Role.choices)
    governance_member = forms.BooleanField(required=False, label="Governance-group member")
    clinical_champion = forms.BooleanField(required=False, label="Clinical champion")


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. 'PACS integration'"
    )
    days = forms.IntegerField(min_value=1, max_value=366, initial=90, label="Valid for (days)")
