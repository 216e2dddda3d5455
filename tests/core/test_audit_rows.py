"""The canonical form of a batch's rows (radgov-rows/1) and the key ranges; pure."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from radgov.core.audit.chain import canonical_json
from radgov.core.audit.rows import (
    KeySet,
    columns_json,
    digest,
    digest_of_tables,
    range_count,
    table_json,
    to_ranges,
    value,
)


def test_the_digest_is_sha256_of_the_documented_canonical_text():
    rows = {
        "exams.inference": {
            2: ["b", 1.5, None, True],
            1: [
                "a",
                dt.datetime(2026, 1, 2, 4, 4, 5, 6, tzinfo=ZoneInfo("Europe/Paris")),
                {"z": 1, "a": [1, "é"]},
                False,
            ],
        },
        "exams.exam": {7: [Decimal("1.50"), dt.date(2026, 1, 2), b"\x00\xff"]},
    }
    text = (
        '{"form":"radgov-rows/1","rows":{'
        '"exams.exam":[[7,"1.50","2026-01-02","00ff"]],'
        '"exams.inference":[[1,"a","2026-01-02T03:04:05.000006Z",{"a":[1,"\\u00e9"],"z":1},false],'
        '[2,"b",1.5,null,true]]}}'
    )
    assert digest(rows) == hashlib.sha256(text.encode("ascii")).hexdigest()


def test_a_bulk_ingest_digests_its_columns_as_the_rows_would_be_digested():
    when = dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    by_pk = {9: ["c", when, dt.date(2026, 1, 2)], 3: ["a", None, None], 5: ["b", when, None]}
    keys = [9, 3, 5]  # a bulk ingest's keys need not come in order
    columns = [list(column) for column in zip(*(by_pk[k] for k in keys), strict=True)]
    tables = {"m.x": columns_json(keys, columns), "m.a": table_json({1: [{"z": 1, "a": 2}]})}
    assert tables["m.x"] == table_json(by_pk)
    assert digest_of_tables(tables) == digest({"m.x": by_pk, "m.a": {1: [{"z": 1, "a": 2}]}})
    assert digest_of_tables({}) == digest({})


def test_canonical_json_is_json_dumps_sorted_compact_and_ascii():
    for v in [None, 1.5, -0.0, 10**20, 'é\u2028"\\\n', {"b": [1, {"z": None, "a": True}], "a": ()}]:
        assert canonical_json(v) == json.dumps(
            v, sort_keys=True, separators=(",", ":"), ensure_ascii=True
        )
    with pytest.raises(TypeError):
        canonical_json({"a": object()})


def test_values_are_encoded_as_stored():
    class Encrypted:
        token = "v1:k1:nonce:ciphertext"

        def __str__(self) -> str:
            return "<never the plaintext>"

    uid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert value(uid) == "12345678-1234-5678-1234-567812345678"
    assert value(dt.time(8, 30)) == "08:30:00"
    assert value(Encrypted()) == "v1:k1:nonce:ciphertext"
    assert value(memoryview(b"\x01")) == "01"


def test_one_changed_value_or_key_changes_the_digest():
    base = {"m.x": {1: ["a", 1], 2: ["b", 2]}}
    variants = [
        {"m.x": {1: ["a", 1], 2: ["b", 3]}},
        {"m.x": {1: ["a", 1], 3: ["b", 2]}},
        {"m.x": {1: ["a", 1]}},
        {"m.y": {1: ["a", 1], 2: ["b", 2]}},
        {"m.x": {1: ["a", 1], 2: ["b", "2"]}},  # the number 2 and the text "2" differ
    ]
    assert len({digest(base), *(digest(v) for v in variants)}) == 1 + len(variants)


def test_key_ranges():
    assert to_ranges([7, 1, 3, 2, 2]) == [[1, 3], [7, 7]]
    assert to_ranges([]) == []
    assert range_count([[1, 3], [7, 7]]) == 4


def test_a_key_set_merges_touching_ranges_and_answers_overlaps_like_a_plain_set():
    rng = random.Random(11)
    keys, plain = KeySet(), set()
    for _ in range(400):
        lo = rng.randrange(1000)
        hi = lo + rng.randrange(5)
        keys.add(lo, hi)
        plain.update(range(lo, hi + 1))
        a = rng.randrange(1010)
        b = a + rng.randrange(6)
        assert keys.overlaps(a, b) == bool(plain & set(range(a, b + 1))), (a, b)
    assert len(keys) == len(plain)


@pytest.mark.parametrize(("low", "high", "merged"), [(4, 5, 1), (5, 5, 2), (0, 10, 1)])
def test_a_key_set_merges_ranges_that_touch(low, high, merged):
    keys = KeySet()
    keys.add(1, 3)
    keys.add(6, 8)
    keys.add(low, high)
    assert len(keys._lows) == merged
