from __future__ import annotations

from typing import Any

from django import forms

from radgov.core import config
from radgov.evaluation.report.summary import LABELS as METRIC_LABELS


class ProtocolForm(forms.Form):
    source = forms.CharField(
        label="Protocol (YAML)",
        strip=False,  # kept as written
        widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "false", "class": "mono"}),
        help_text="The task, the columns, the operating threshold, the metrics, the subgroups "
        "and the pass criteria (see docs/evaluation.md). Agree them before anyone sees results.",
    )
    reason = forms.CharField(
        label="Why the locked protocol changes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded with the new version; the report marks it as amended after lock.",
    )

    def __init__(self, *args: Any, amending: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not amending:
            del self.fields["reason"]
        else:
            self.fields["reason"].required = True

    def clean_source(self) -> str:
        text: str = self.cleaned_data["source"]
        return text.replace("\r\n", "\n")  # browsers send CRLF from a textarea


class RunForm(forms.Form):
    cases = forms.FileField(
        label="Cases file (CSV or Parquet)",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.parquet"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cases"].help_text = (
            "One row per case, with the columns the protocol names. De-identified data only, "
            "unless a BAA with the vendor covers it. Up to "
            f"{config.get_int('RADGOV_MAX_UPLOAD_MB')} MB; the file is not kept after the run "
            "(its name, SHA-256 and row count are)."
        )


def _in_sentence(label: str) -> str:
    """A metric's label inside a sentence: "Sensitivity" -> "sensitivity"; "AUC" stays."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


class PlanForm(forms.Form):
    """How many cases the protocol's lower-bound criteria need (III.D: exam volumes)."""

    prevalence = forms.FloatField(
        min_value=0.001, max_value=0.999, help_text="expected share of positive cases"
    )
    power = forms.FloatField(min_value=0.5, max_value=0.99, initial=0.8)

    def __init__(self, *args: Any, metrics: list[str], claims: dict[str, float], **kw: Any):
        super().__init__(*args, **kw)
        for metric in metrics:
            self.fields[f"expect_{metric}"] = forms.FloatField(
                label=f"Expected {_in_sentence(METRIC_LABELS.get(metric, metric))}",
                min_value=0.5,
                max_value=0.999,
                initial=claims.get(metric),
                help_text="the IFU's claim" if metric in claims else "",
            )

    def expected(self) -> dict[str, float]:
        return {
            name.removeprefix("expect_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("expect_")
        }
