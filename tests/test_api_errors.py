"""The one error path, walked over every operation of the API (found in its OpenAPI schema,
so a new operation is covered without a line here): a missing object, a bad body, a role
the policy refuses and an unknown path each answer problem+json and leave exactly one
audit entry, the refusal's (radgov.core.errors, radgov.api.refused)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import resolve

from radgov.api import api, operation_route
from radgov.core import machines, policy
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from tests.factories import make_user

MISSING_ID = 9_999_999
PROBLEM = "application/problem+json"
# A value of the wrong type for each JSON schema type.
WRONG = {
    "integer": "not a number",
    "number": "not a number",
    "string": {"not": "a string"},
    "boolean": {"not": "a boolean"},
    "array": 5,
    "object": 5,
}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    spec: dict[str, Any]

    def url(self) -> str:
        """The path with every parameter given a value no object has."""

        def fill(match: re.Match[str]) -> str:
            kind = self.param_types().get(match.group(1), "integer")
            return str(uuid.uuid4()) if kind == "uuid" else str(MISSING_ID)

        return re.sub(r"\{(\w+)\}", fill, self.template)

    def param_types(self) -> dict[str, str]:
        types = {}
        for p in self.spec.get("parameters", []):
            if p.get("in") == "path":
                schema = p.get("schema", {})
                types[p["name"]] = schema.get("format") or schema.get("type", "integer")
        return types

    def route(self) -> str:
        return operation_route(resolve(self.url()).view_name, self.method)

    def body_schema(self) -> tuple[str, dict[str, Any]] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        for media, entry in content.items():
            return media, _resolved(entry["schema"])
        return None

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


_SCHEMA = api.get_openapi_schema()


def _resolved(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = _SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def operations() -> Iterator[Operation]:
    for template, methods in _SCHEMA["paths"].items():
        for method, spec in methods.items():
            yield Operation(method.upper(), template, spec)


def walk() -> Iterator[tuple[Operation, policy.Rule]]:
    """Every operation with its rule (deny by default: an operation without one fails)."""
    for op in operations():
        rule = policy.rule_for(op.route())
        assert rule is not None, f"{op}: no rule"
        yield op, rule


def _type(prop: dict[str, Any]) -> str | None:
    prop = _resolved(prop)
    if "type" in prop:
        return str(prop["type"])
    kinds = {str(_resolved(p).get("type")) for p in prop.get("anyOf", [])} - {"null", "None"}
    return kinds.pop() if len(kinds) == 1 else None


class Callers:
    """One client per principal, made once: a person of each role, and an API client
    holding every grant (for the routes only machines use)."""

    def __init__(self) -> None:
        self.people: dict[str, Client] = {}
        self.machine: Client | None = None

    def person(self, role: str) -> Client:
        if role not in self.people:
            client = Client()
            client.force_login(make_user(f"walker-{role}", role=role))
            self.people[role] = client
        return self.people[role]

    def admitted(self, rule: policy.Rule) -> Client:
        for role in Role:
            if rule.allows(role.value):
                return self.person(role.value)
        if self.machine is None:
            grants = sorted(n for n, g in policy.all_grants().items() if "api_client" in g.kinds)
            robot = machines.register(None, kind="api_client", name="api:walker", grants=grants)
            _, secret = machines.issue_credential(None, robot, name="walker")
            self.machine = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return self.machine

    def refused(self, rule: policy.Rule) -> Client | None:
        for role in Role:
            if not rule.allows(role.value):
                return self.person(role.value)
        return None


def send(client: Client, op: Operation, body: object = None) -> Any:
    found = op.body_schema()
    if found is not None and found[0].startswith("multipart/"):
        return client.generic(op.method, op.url(), data=b"", content_type=found[0])
    data = json.dumps({} if body is None else body)
    return client.generic(op.method, op.url(), data=data, content_type="application/json")


def refused_once(
    client: Client, op: Operation, status: tuple[int, ...], body: object = None, *, why: str = ""
) -> dict[str, Any]:
    """Send the request: the answer is a problem of one of these statuses, and the trail
    gained exactly one entry, the refusal of this route."""
    where = f"{op} {why}".strip()
    last = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    response = send(client, op, body)
    assert response.status_code in status, f"{where}: {response.status_code} {response.content!r}"
    assert response["Content-Type"] == PROBLEM, f"{where}: {response['Content-Type']}"
    problem = response.json()
    assert problem["status"] == response.status_code and problem["detail"], where
    entries = list(AuditEntry.objects.filter(seq__gt=last))
    assert len(entries) == 1, f"{where}: {[(e.action, e.object_id) for e in entries]}"
    (entry,) = entries
    assert (entry.action, entry.object_type, entry.object_id) == ("denied", "route", op.route())
    assert entry.detail["status"] == response.status_code, where
    assert entry.detail["method"] == op.method, where
    return dict(problem)


def test_the_walk_covers_the_whole_api() -> None:
    ops = list(operations())
    assert len(ops) > 100
    assert {op.template.split("/")[2] for op in ops} >= {
        "inventory",
        "governance",
        "compliance",
        "exams",
        "monitoring",
        "training",
        "evaluation",
    }


@pytest.fixture
def callers(db: None) -> Callers:
    return Callers()


def test_an_object_that_is_not_there_is_one_audited_problem(callers: Callers) -> None:
    with_ids = [(op, rule) for op, rule in walk() if "{" in op.template]
    assert len(with_ids) > 50
    for op, rule in with_ids:
        # a missing object is 404 (403 where "not there" and "not yours" share one answer);
        # a body the walker cannot fill may be refused first (422)
        refused_once(callers.admitted(rule), op, (403, 404, 422), _valid_body(op))


def test_a_bad_body_is_one_audited_problem_naming_the_field(callers: Callers) -> None:
    walked = 0
    for op, rule in walk():
        found = op.body_schema()
        if found is None:
            continue
        media, schema = found
        client = callers.admitted(rule)
        required = schema.get("required", [])
        if required:  # nothing sent at all
            refused_once(client, op, (422,), why=f"without {required}")
        if media.startswith("multipart/"):
            walked += bool(required)
            continue
        for name, prop in schema.get("properties", {}).items():
            kind = _type(prop)
            if kind not in WRONG:
                continue
            body = {**_valid_body(op), name: WRONG[kind]}
            problem = refused_once(client, op, (422,), body, why=f"with {name}={WRONG[kind]!r}")
            assert any(name in e["location"] for e in problem["errors"]), (op, problem)
            walked += 1
    assert walked > 50


def test_a_role_the_policy_refuses_is_one_audited_problem(callers: Callers) -> None:
    refusable = [(op, callers.refused(rule)) for op, rule in walk()]
    assert sum(client is not None for _, client in refusable) > 50
    for op, client in refusable:
        if client is not None:  # (where every role may, there is nothing to refuse)
            problem = refused_once(client, op, (403,), _valid_body(op))
            assert problem["type"].endswith("/forbidden-by-policy"), op


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_an_unknown_api_path_is_one_audited_404(method: str) -> None:
    client = Callers().person(Role.ADMINISTRATOR.value)
    unknown = Operation(method, "/api/inventory/no-such-thing/3", {})
    assert unknown.route() == "api:not_found"
    refused_once(client, unknown, (404,))


@pytest.mark.django_db
def test_the_catch_all_opens_nothing() -> None:
    """Anonymous callers are told to log in, and a route of the API keeps its own rule:
    the catch-all answers only paths no operation has."""
    response = Client().get("/api/inventory/no-such-thing")
    assert response.status_code == 401 and response["Content-Type"] == PROBLEM
    trail = Operation("GET", "/api/audit/entries", {})
    assert trail.route() == "api:list_audit_entries"
    problem = refused_once(Callers().person(Role.VENDOR.value), trail, (403,))
    assert problem["type"].endswith("/forbidden-by-policy")


def _valid_body(op: Operation) -> dict[str, Any]:
    """A body whose required fields have a value of the right type, so the request reaches
    the operation (where the missing object is found)."""
    found = op.body_schema()
    if found is None or found[0].startswith("multipart/"):
        return {}
    schema = found[1]
    samples = {"integer": MISSING_ID, "number": 1, "string": "x", "boolean": True}
    body: dict[str, Any] = {}
    for name in schema.get("required", []):
        prop = _resolved(schema.get("properties", {}).get(name, {}))
        kind = _type(prop)
        if "enum" in prop:
            body[name] = prop["enum"][0]
        elif kind == "array":
            body[name] = []
        elif kind == "object":
            body[name] = {}
        elif kind in samples:
            body[name] = samples[kind]
    return body
