"""The stop rules on a deployment whose sensitivity drops on day 40 (issue 15, "Done when"):
2,000 exams, the Bernoulli CUSUM signals within the delay its ARL predicts, the alert lands in
the governance queue, and a deployment the governance group set to auto-suspend is suspended
as the alarm's act, with its audit entry.

The chart's design and exact ARLs come from ``radgov.stats`` (Reynolds & Stoumbos 1999, ARL by
the Markov chain of Brook & Evans 1972, tested there against their published tables); the
7-days-above-baseline preset is the rule of the JACR 2025 pulmonary-embolism monitoring."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from radgov.core import machines
from radgov.core.models import AuditEntry
from radgov.exams.errors import ExamError, NotPermitted
from radgov.inventory import lifecycle
from radgov.inventory.models import DeploymentTransition
from radgov.inventory.stages import Stage
from radgov.monitoring import alarms, analysis, configure, tasks
from radgov.monitoring.models import Alert
from radgov.stats.run_length import bernoulli_cusum_design
from tests.monitoring.conftest import BASELINE, synthetic

pytestmark = pytest.mark.django_db
START = BASELINE[0]
SHIFT_DAY = 40  # day index (0 = 1 January) of the step change
PER_DAY = 30
DAYS = 67  # 2,010 exams


def drifting(seed: int = 15) -> list[tuple[dt.date, str]]:
    """Prevalence 20 %, specificity 0.95; sensitivity 0.90 until day 40, then 0.55."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(DAYS):
        sens = 0.90 if d < SHIFT_DAY else 0.55
        for _ in range(PER_DAY):
            positive = rng.random() < 0.20
            called = rng.random() < (sens if positive else 0.05)
            rows.append(
                (
                    START + dt.timedelta(d),
                    ("fn", "tp")[called] if positive else ("tn", "fp")[called],
                )
            )
    return rows


@pytest.fixture
def live(watched, chair, no_guards):
    configure.set_watch(
        chair, watched, finding="pulmonary_embolism", baseline_start=BASELINE[0],
        baseline_end=BASELINE[1], arl0=5000,
    )  # fmt: skip
    return lifecycle.transition(
        chair,
        lifecycle.transition(
            chair, lifecycle.transition(chair, watched, Stage.UNDER_REVIEW), Stage.APPROVED
        ),
        Stage.DEPLOYED,
    )


def test_a_drop_in_sensitivity_alerts_and_suspends_the_deployment(live, chair) -> None:
    rows = drifting()
    synthetic(live, rows)
    task = machines.task_principal(tasks.TASK)
    allowed = lifecycle.allow_alarm_suspension(chair, live, task, note="decision 7: auto-suspend")

    found = analysis.charts(live.watch)
    base = found.baseline
    assert base.n == 31 * PER_DAY and 0.04 < base.estimate < 0.08
    design = bernoulli_cusum_design(base.estimate, 2 * base.estimate, arl0=live.watch.arl0)
    cusum = found.charts["cusum"]
    assert cusum.method.startswith("Bernoulli CUSUM") and found.cusum_exams == (DAYS - 31) * PER_DAY
    assert cusum.n == DAYS - 31  # shown per day
    # no false alarm before the shift; the signal comes within three times the expected delay
    shift_at = (SHIFT_DAY - 31) * PER_DAY
    first = found.cusum_first_exam
    assert first is not None and first >= shift_at
    assert first - shift_at <= 3 * design.arl1
    assert found.cusum_days[cusum.first_signal] == found.signal_days["cusum"]

    assert tasks.check_alarms.call_local()["alerts"] == len(found.signal_days) >= 1
    live.refresh_from_db()
    assert live.status == Stage.SUSPENDED
    alert = Alert.objects.get(deployment=live, rule="cusum")
    assert alert.suspended and alert.closed_at is None
    assert alert.signal_day == dt.date.fromisoformat(found.signal_days["cusum"])
    step = DeploymentTransition.objects.filter(deployment=live).order_by("-at", "-id").first()
    assert (step.by_machine, step.alarm_suspension) == (task, allowed)
    act = AuditEntry.objects.get(action="execute", object_type="inventory.deployment")
    assert act.actor_name == "task:monitoring.check_alarms"
    assert act.detail["alarm"].startswith("monitoring.")
    # the task again: nothing new, nothing twice
    assert tasks.check_alarms.call_local()["alerts"] == 0


def test_seven_days_above_the_baseline_interval_alerts_without_suspending(
    watched, writer, chair
) -> None:
    """Baseline 5 % discordant; from 1 February every day 20 %: the seventh day in a row
    above the baseline's Wilson interval (7 February) signals.  No auto-suspension allowed:
    the alert opens and the deployment stays as it was."""
    rows = [
        (START + dt.timedelta(d), "fp" if i < 1 else "tn") for d in range(31) for i in range(20)
    ]
    rows += [
        (dt.date(2026, 2, 1) + dt.timedelta(d), "fp" if i < 4 else "tn")
        for d in range(9)
        for i in range(20)
    ]
    synthetic(watched, rows)
    found = analysis.charts(watched.watch)
    assert found.signal_days["consecutive"] == "2026-02-07"
    tasks.check_alarms.call_local()
    alert = Alert.objects.get(rule="consecutive")
    assert alert.summary.startswith("7 days in a row above the baseline discordance 5.0%")
    assert not alert.suspended
    watched.refresh_from_db()
    assert watched.status == "requested"

    # closing it is the group's decision, with the reason said; anyone else is refused
    with pytest.raises(NotPermitted, match="only governance-group members"):
        alarms.close_alert(writer, alert, note="looked fine to me")
    with pytest.raises(ExamError, match="say why the alert is closed"):
        alarms.close_alert(chair, alert, note="  ")
    assert Alert.objects.get(pk=alert.pk).closed_at is None
    closed = alarms.close_alert(chair, alert, note="scanner firmware update; rebaselined")
    assert closed.closed_by == chair and closed.note.startswith("scanner firmware")
