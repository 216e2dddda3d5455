"""The rows of acknowledged images, recorded in groups, and recovered from the spool after a
crash (docs/decisions/0005-gateway-acknowledges-on-the-spool.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError
from django.utils import timezone
from pydicom.dataset import Dataset
from pydicom.uid import BasicTextSRStorage, ExplicitVRLittleEndian
from pynetdicom.dsutils import encode_file_meta

from radgov.core import crypto
from radgov.core.audit.verify import verify_trail
from radgov.core.models import AuditEntry
from radgov.exams.services.inference import SOP_UID_NAMESPACE
from radgov.gateway import associations, groups, services, spool
from radgov.gateway.models import Association, Instance, Study
from tests.gateway.conftest import SITE, as_sent, ct, new_uid
from tests.integration.serving import wait_until


def spooled(peer: Any, ds: Dataset, base: Path) -> groups.Acknowledged:
    """What the listener does with a C-STORE of an image before it answers: the file made
    durable in the spool, and what its row will hold."""
    raw = as_sent(ds)
    uid_key = crypto.pseudonym(str(ds.SOPInstanceUID), namespace=SOP_UID_NAMESPACE)
    sha256 = spool.digest(raw)
    spool.write(uid_key, encode_file_meta(ds.file_meta), raw, sha256=sha256, base=base)
    return groups.Acknowledged(
        peer=peer,
        client_address="127.0.0.1",
        calling_ae="CT_MAIN",
        study_uid=str(ds.StudyInstanceUID),
        uid_key=uid_key,
        sha256=sha256,
        size=len(raw),
        sop_class_uid=str(ds.SOPClassUID),
        transfer_syntax_uid=ExplicitVRLittleEndian,
        site=SITE,
    )


def group_entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type="gateway.instance").order_by("pk"))


def test_a_group_records_each_image_once_and_keeps_a_conflict_beside_it(peer, spool) -> None:
    uid = new_uid()
    first, other = ct(uid), ct(new_uid())
    changed = ct(uid, KVP="140")  # the same UID with other bytes
    items = [spooled(peer, ds, spool) for ds in (first, first, other, changed)]
    groups.record(items)  # the resent copy of ``first`` is in the same group
    rows = list(Instance.objects.order_by("pk"))
    assert [(r.sha256, r.conflict) for r in rows] == [
        (items[0].sha256, False),
        (items[2].sha256, False),
        (items[3].sha256, True),
    ]
    assert all((spool / r.file_ref).is_file() and r.peer == peer for r in rows)
    assert Study.objects.get().instance_count == 3
    (entry,) = group_entries()  # one entry for the group, with the rows' count and digest
    assert (entry.event_code, entry.actor_name, entry.channel) == (
        "110104",
        "dicom:CT_MAIN",
        "dicom",
    )
    assert entry.detail["batch"]["count"] == 4  # three instances and their study
    assert entry.detail["conflicts"] == 1 and entry.detail["calling_ae"] == ["CT_MAIN"]
    groups.record(items[:3])  # resent after its group committed: nothing more
    assert Instance.objects.count() == 3 and len(group_entries()) == 1
    assert verify_trail(record_use=False).ok  # the batch digest matches the rows


def test_recovery_records_each_spooled_image_without_a_row_and_leaves_results(peer, spool) -> None:
    recorded = spooled(peer, ct(new_uid()), spool)
    groups.record([recorded])
    lost = [spooled(peer, ct(new_uid()), spool) for _ in range(3)]  # acknowledged, no row
    result = ct(new_uid(), SOPClassUID=BasicTextSRStorage)
    result.file_meta.MediaStorageSOPClassUID = BasicTextSRStorage
    spooled(peer, result, spool)  # a result is recorded before it is answered: never acked
    assert groups.recover(spool, site=SITE) == 3
    rows = {r.sha256: r for r in Instance.objects.all()}
    assert set(rows) == {item.sha256 for item in [recorded, *lost]}
    for item in lost:  # as it was sent; who sent it is no longer known
        row = rows[item.sha256]
        assert (row.size, row.peer, row.calling_ae, row.conflict) == (item.size, None, "", False)
        assert row.file_ref == f"instances/{item.uid_key[:2]}/{item.uid_key}.{item.sha256}.dcm"
        assert row.sop_class_uid == item.sop_class_uid
    study = Study.objects.get()
    assert (study.instance_count, study.site) == (4, SITE)
    entry = group_entries()[-1]
    assert entry.detail["recovered"] is True and entry.actor_name == "task:gateway.recover"
    assert groups.recover(spool, site=SITE) == 0  # each once


@pytest.mark.django_db(transaction=True)
def test_the_recorder_retries_a_failed_group_and_routing_waits_for_it(
    peer, spool, monkeypatch
) -> None:
    failures = [OperationalError("the database is gone")]
    real = groups.record_group

    def failing_once(items: list[groups.Acknowledged], **kwargs: Any) -> int:
        if failures:
            raise failures.pop()
        return real(items, **kwargs)

    monkeypatch.setattr(groups, "record_group", failing_once)
    monkeypatch.setattr(groups, "RETRY_SECONDS", 0.01)
    monkeypatch.setattr(groups, "GATHER_SECONDS", 5.0)  # routing must hurry the group
    recorder = groups.Recorder()
    try:
        for _ in range(2):
            recorder.add(spooled(peer, ct(new_uid()), spool))
        later = timezone.now() + dt.timedelta(seconds=31)
        [study] = services.complete_quiet_studies(now=later, quiet_seconds=30, base=spool)
    finally:
        recorder.stop()
    assert not failures  # the first try failed; the group stayed and was recorded next
    assert study.instance_count == 2 and study.completed_at is not None
    assert Instance.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_an_associations_end_sends_its_group_without_gathering_more(
    peer, spool, monkeypatch
) -> None:
    """A group gathers images for a while after its first (GATHER_SECONDS), but once an
    association ends its images wait for nothing more: the group goes at once, with the
    end, and a group without an end still gathers."""
    monkeypatch.setattr(groups, "GATHER_SECONDS", 60.0)
    recorder = groups.Recorder()
    try:
        recorder.add(spooled(peer, ct(new_uid()), spool))
        assert not wait_until(Instance.objects.exists, timeout=1)  # still gathering
        recorder.add(spooled(peer, ct(new_uid()), spool))
        recorder.add(
            associations.Ended(
                calling_ae="CT_MAIN",
                address="127.0.0.1",
                peer=peer,
                ended="released",
                stored=2,
                refused=0,
            )
        )
        assert wait_until(Association.objects.exists, timeout=30)
        assert Instance.objects.count() == 2
        recorder.add(spooled(peer, ct(new_uid()), spool))  # the next group gathers again
        assert not wait_until(lambda: Instance.objects.count() > 2, timeout=1)
    finally:
        recorder.stop()
    assert Instance.objects.count() == 3  # stop records what waits


@pytest.mark.django_db(transaction=True)
def test_a_recorder_whose_groups_keep_failing_holds_neither_routing_nor_its_stop(
    peer, spool, monkeypatch
) -> None:
    def failing(items: list[groups.Acknowledged], **kwargs: Any) -> int:
        raise OperationalError("the database is gone")

    monkeypatch.setattr(groups, "record_group", failing)
    monkeypatch.setattr(groups, "RETRY_SECONDS", 0.01)
    monkeypatch.setattr(groups, "SETTLE_SECONDS", 0.2)
    recorder = groups.Recorder()
    item = spooled(peer, ct(new_uid()), spool)
    recorder.add(item)
    assert not groups.settle(0.2)  # routing goes on
    recorder.stop()  # and so does a listener's stop: the file is left to recovery
    assert not Instance.objects.exists()
    monkeypatch.undo()
    assert groups.recover(spool) == 1
    assert Instance.objects.get().sha256 == item.sha256
