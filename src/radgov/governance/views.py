"""Governance pages.  Views only translate: forms in, services called, a
refused rule shown as the page's error, nothing saved by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms as djforms
from django.apps import apps
from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from radgov.core.errors import refusal
from radgov.core.roles import Role
from radgov.governance import forms, scoring, selectors, services
from radgov.governance.models import (
    Baa,
    Candidate,
    Decision,
    GovernanceGroup,
    IssueReport,
    Meeting,
    Membership,
    ModelRequest,
    RegulatoryProfile,
)
from radgov.web.views import job_started


def _get(model: Any, pk: int) -> Any:
    row = model._default_manager.filter(pk=pk).first()
    if row is None:
        raise Http404(f"no {model._meta.verbose_name} {pk}")
    return row


def _group(request: HttpRequest) -> GovernanceGroup | None:
    """The group a page is about, as the API names it by id: the one the link or form names
    (``group``), else the person's own group, else the first (most practices have one)."""
    named = request.POST.get("group") or request.GET.get("group")
    if named:
        if not named.isdigit():
            raise Http404("no such governance group")
        return _get(GovernanceGroup, int(named))
    own = Membership.objects.filter(user_id=request.user.pk, left_on__isnull=True)
    membership = own.select_related("group").order_by("pk").first()
    return membership.group if membership else GovernanceGroup.objects.order_by("pk").first()


def _groups(group: GovernanceGroup | None) -> dict[str, Any]:
    """What a page about ``group`` shows to switch to another group, when there are several."""
    return {"group": group, "groups": list(GovernanceGroup.objects.order_by("name"))}


def _to_index(group: GovernanceGroup | None) -> HttpResponse:
    url = reverse("governance:index")
    return redirect(f"{url}?group={group.pk}" if group is not None else url)


def _try(
    form: djforms.Form | None, http: HttpRequest, fn: Callable[..., Any], /, *a: Any, **kw: Any
) -> Any:
    """Call a service; a refusal becomes the form's error (or a message)."""
    try:
        return fn(*a, **kw)
    except services.GovernanceError as exc:
        message = refusal(http, exc)
        if form is not None:
            form.add_error(None, message)
        else:
            messages.error(http, message)
        return None


def _bound(form_class: Any, request: HttpRequest, name: str, **kw: Any) -> Any:
    """The form bound to the POST when it was the one submitted (by its button name)."""
    data = request.POST if request.method == "POST" and request.POST.get("form") == name else None
    return form_class(data, prefix=name, **kw)


# --- the group ---------------------------------------------------------------------------------


def index(request: HttpRequest) -> HttpResponse:
    group = _group(request)
    conflict_form = _bound(forms.ConflictForm, request, "conflict")
    sees_conflicts = group is not None and selectors.sees_conflicts(request.user, group)
    context = {
        **_groups(group),
        "memberships": selectors.roster(group) if group else [],
        "physicians": selectors.physician_count(group) if group else 0,
        "sees_conflicts": sees_conflicts,
        "conflicts": selectors.visible_conflicts(request.user),
        "member_form": forms.MemberForm(prefix="member"),
        "conflict_form": conflict_form,
        "settings_form": forms.GroupSettingsForm(
            prefix="settings",
            initial={
                "votes_visible_to_staff": group.votes_visible_to_staff,
                "conflicts_visible_to_staff": group.conflicts_visible_to_staff,
            }
            if group
            else None,
        ),
        "is_member": selectors.is_member(request.user),
    }
    return render(request, "governance/index.html", context)


@require_POST
def group_settings(request: HttpRequest) -> HttpResponse:
    form = forms.GroupSettingsForm(request.POST, prefix="settings")
    group = _group(request)
    if group is not None and form.is_valid():
        if _try(
            None, request, services.update_group_settings, request.user, group, **form.cleaned_data
        ):
            messages.success(request, "The group's settings are saved.")
    return _to_index(group)


@require_POST
def member_add(request: HttpRequest) -> HttpResponse:
    form = forms.MemberForm(request.POST, prefix="member")
    group = _group(request)
    if group is None:
        messages.error(request, "no governance group exists yet (create it through the API)")
    elif form.is_valid():
        d = form.cleaned_data
        if _try(
            None,
            request,
            services.add_member,
            request.user,
            group,
            d["user"],
            position=d["position"],
        ):
            messages.success(request, f"{d['user'].username} joined {group}.")
    else:
        messages.error(request, "choose a person and a position")
    return _to_index(group)


@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    m = _get(Membership, membership_id)
    if _try(None, request, services.remove_member, request.user, m):
        messages.success(request, f"{m.user.username} left {m.group}.")
    return redirect("governance:index")


@require_POST
def conflict_declare(request: HttpRequest) -> HttpResponse:
    form = forms.ConflictForm(request.POST, prefix="conflict")
    if form.is_valid():
        d = form.cleaned_data
        if _try(
            None,
            request,
            services.declare_conflict,
            request.user,
            request.user,
            product=d["product"],
            vendor=d["vendor"],
            description=d["description"],
        ):
            messages.success(
                request,
                "Conflict of interest declared; you are recused from its discussions and votes.",
            )
    else:
        messages.error(request, "a conflict needs a description, and a product or a vendor")
    return redirect("governance:index")


# --- requests and selection --------------------------------------------------------------------


def requests_page(request: HttpRequest) -> HttpResponse:
    group = _group(request)
    form = forms.RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and group is not None:
        d = form.cleaned_data
        row = _try(form, request, services.submit_request, request.user, group, **d)
        if row is not None:
            messages.success(request, f"Request #{row.pk} submitted to {group}.")
            return redirect("governance:requests")
    rows = ModelRequest.objects.select_related("champion", "proposed_product__company", "decision")
    return render(
        request,
        "governance/requests.html",
        {"form": form, "requests": rows, **_groups(group)},
    )


def request_page(request: HttpRequest, request_id: int) -> HttpResponse:
    row = _get(ModelRequest, request_id)
    criterion_form = _bound(forms.CriterionForm, request, "criterion")
    if criterion_form.is_bound and criterion_form.is_valid():
        d = criterion_form.cleaned_data
        if _try(criterion_form, request, services.define_criterion, request.user, row.group, **d):
            return redirect("governance:request", request_id=row.pk)
    candidates = list(row.candidates.select_related("product__company"))
    context = {
        "req": row,
        "comparison": selectors.comparison(row),
        "candidates": candidates,
        "criteria": selectors.criteria_of(row.group),
        "is_member": selectors.is_member(request.user, row.group),
        "candidate_form": forms.CandidateForm(prefix="candidate"),
        "criterion_form": criterion_form,
        "decisions": Decision.objects.filter(request=row).select_related("meeting"),
    }
    return render(request, "governance/request.html", context)


@require_POST
def candidate_add(request: HttpRequest, request_id: int) -> HttpResponse:
    row = _get(ModelRequest, request_id)
    form = forms.CandidateForm(request.POST, prefix="candidate")
    if form.is_valid():
        _try(None, request, services.add_candidate, request.user, row, **form.cleaned_data)
    return redirect("governance:request", request_id=row.pk)


@require_POST
def score(request: HttpRequest, candidate_id: int) -> HttpResponse:
    """The member's scores on every criterion filled in: all saved, or none."""
    cand = _get(Candidate, candidate_id)
    values, wrong = {}, []
    for criterion in cand.request.group.criteria.filter(active=True):
        raw = request.POST.get(f"criterion-{criterion.pk}", "").strip()
        try:
            if raw:
                values[criterion] = int(raw)
        except ValueError:
            wrong.append(f"{criterion.name}: a score is a whole number from 1 to 5, not {raw!r}")
    if wrong:
        messages.error(request, "; ".join(wrong) + "; no score was saved")
    elif values and _try(None, request, scoring.score_criteria, request.user, cand, values):
        messages.success(request, f"{len(values)} score(s) recorded for {cand.label}.")
    return redirect("governance:request", request_id=cand.request_id)


# --- meetings ----------------------------------------------------------------------------------


def meetings(request: HttpRequest) -> HttpResponse:
    group = _group(request)
    form = forms.MeetingForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and group is not None:
        m = _try(form, request, services.create_meeting, request.user, group, **form.cleaned_data)
        if m is not None:
            return redirect("governance:meeting", meeting_id=m.pk)
    listed = list(
        Meeting.objects.select_related("group").annotate(decision_count=Count("decisions"))
    )
    found = selectors.quorums(listed)
    rows = [{"meeting": m, "quorum": found[m.pk], "decisions": m.decision_count} for m in listed]
    may_schedule = group is not None and (
        request.user.role == Role.ADMINISTRATOR or selectors.is_member(request.user, group)
    )
    return render(
        request,
        "governance/meetings.html",
        {"rows": rows, "form": form, "may_schedule": may_schedule, **_groups(group)},
    )


def meeting(request: HttpRequest, meeting_id: int) -> HttpResponse:
    m = _get(Meeting, meeting_id)
    attendees_form = _bound(
        forms.AttendeesForm, request, "attendees", initial={"attendees": list(m.attendees.all())}
    )
    agenda_form = _bound(forms.AgendaItemForm, request, "agenda")
    decision_form = _bound(forms.DecisionForm, request, "decision", meeting=m)
    notes_form = _bound(forms.NotesForm, request, "notes", initial={"notes": m.notes})
    close_form = _bound(djforms.Form, request, "close")
    user = request.user
    actions: list[tuple[Any, Callable[[dict[str, Any]], Any]]] = [
        (attendees_form, lambda d: services.set_attendees(user, m, d["attendees"])),
        (agenda_form, lambda d: services.add_agenda_item(user, m, **d)),
        (decision_form, lambda d: services.record_decision(user, m, **d)),
        (notes_form, lambda d: services.record_notes(user, m, d["notes"])),
        (close_form, lambda d: services.close_meeting(user, m)),
    ]
    done = None
    for form, act in actions:
        if form.is_bound and form.is_valid():
            done = _try(form, request, act, form.cleaned_data)
            if done is None and form is close_form:
                messages.error(request, "; ".join(close_form.non_field_errors()))
    if done is not None:
        messages.success(
            request, "Minutes approved; the meeting is closed." if m.is_closed else "Saved."
        )
        return redirect("governance:meeting", meeting_id=m.pk)
    member = selectors.active_membership(m.group, user)
    context = {
        **selectors.meeting_record(m, viewer=user),
        "attendees_form": attendees_form,
        "agenda_form": agenda_form,
        "decision_form": decision_form,
        "notes_form": notes_form,
        "is_member": member is not None,
        "may_close": member is not None and selectors.may_approve_minutes(member),
    }
    return render(request, "governance/meeting.html", context)


@require_POST
def meeting_pdf(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """Queue the meeting notes' PDF (made by the worker); its page offers the download."""
    m = _get(Meeting, meeting_id)
    return job_started(
        request,
        "governance.meeting_notes_pdf",
        {"meeting": m.pk},
        back=reverse("governance:meeting", args=[m.pk]),
    )


@require_POST
def vote(request: HttpRequest, decision_id: int) -> HttpResponse:
    d = _get(Decision, decision_id)
    if _try(None, request, services.cast_vote, request.user, d, request.POST.get("choice", "")):
        messages.success(request, f"Vote recorded on “{d.motion}”.")
    return redirect("governance:meeting", meeting_id=d.meeting_id)


# --- issue reports -----------------------------------------------------------------------------


def issues(request: HttpRequest) -> HttpResponse:
    queue = selectors.review_queue()
    closed = IssueReport.objects.filter(status__in=["resolved", "closed"]).select_related(
        "reporter"
    )[:50]
    return render(
        request,
        "governance/issues.html",
        {
            "queue": [
                (i, forms.IssueUpdateForm(prefix=f"i{i.pk}", initial={"status": i.status}))
                for i in queue
            ],
            "closed": closed,
            "is_member": selectors.is_member(request.user),
        },
    )


@require_POST
def issue_update(request: HttpRequest, issue_id: int) -> HttpResponse:
    issue = _get(IssueReport, issue_id)
    form = forms.IssueUpdateForm(request.POST, prefix=f"i{issue.pk}")
    if form.is_valid():
        d = form.cleaned_data
        if _try(None, request, services.update_issue, request.user, issue, **d):
            messages.success(
                request, f"Issue #{issue.pk} is now {issue.get_status_display().lower()}."
            )
    return redirect("governance:issues")


def report_issue(request: HttpRequest) -> HttpResponse:
    form = forms.IssueForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        row = _try(form, request, services.report_issue, request.user, **form.cleaned_data)
        if row is not None:
            messages.success(
                request, f"Issue #{row.pk} reported; the governance group will review it."
            )
            return redirect("governance:report_issue")
    return render(request, "governance/report_issue.html", {"form": form})


# --- regulatory --------------------------------------------------------------------------------


def regulatory(request: HttpRequest) -> HttpResponse:
    baa_form = forms.BaaForm(request.POST or None)
    if request.method == "POST" and baa_form.is_valid():
        if _try(baa_form, request, services.record_baa, request.user, **baa_form.cleaned_data):
            messages.success(request, "BAA recorded.")
            return redirect("governance:regulatory")
    versions = apps.get_model("inventory", "ModelVersion").objects.select_related(
        "product__company"
    )
    rows = []
    for v in versions:
        lines = selectors.checklist(v)
        rows.append(
            {"version": v, "open": [ln for ln in lines if not ln["ok"]], "total": len(lines)}
        )
    return render(
        request,
        "governance/regulatory.html",
        {"rows": rows, "baas": Baa.objects.all(), "baa_form": baa_form},
    )


def checklist(request: HttpRequest, version_id: int) -> HttpResponse:
    version = _get(apps.get_model("inventory", "ModelVersion"), version_id)
    product = version.product
    profile = RegulatoryProfile.objects.filter(product=product).first()
    item_form = _bound(forms.RegulatoryItemForm, request, "item")
    profile_form = _bound(
        forms.ProfileForm,
        request,
        "profile",
        initial={
            "local_use": profile.local_use if profile else product.category,
            "scope_of_clearance": profile.scope_of_clearance if profile else "",
            "off_label_decision": profile.off_label_decision if profile else "",
            "phi_reaches_vendor": profile.phi_reaches_vendor if profile else False,
        },
    )
    done = None
    if item_form.is_bound and item_form.is_valid():
        d = item_form.cleaned_data
        framework = d.pop("framework")
        done = _try(
            item_form, request, services.set_regulatory_item, request.user, version, framework, **d
        )
    elif profile_form.is_bound and profile_form.is_valid():
        done = _try(
            profile_form,
            request,
            services.set_regulatory_profile,
            request.user,
            product,
            **profile_form.cleaned_data,
        )
    if done is not None:
        messages.success(request, "Saved.")
        return redirect("governance:checklist", version_id=version.pk)
    return render(
        request,
        "governance/checklist.html",
        {
            "version": version,
            "lines": selectors.checklist(version),
            "off_label": selectors.off_label(product),
            "item_form": item_form,
            "profile_form": profile_form,
            "may_keep": services.keeps_checklist(request.user),
        },
    )
