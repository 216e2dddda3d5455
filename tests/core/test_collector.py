"""The collector pause of bulk writes (radgov.core.collector): off inside, back after the
last block ends on any thread, and left off when it was off before."""

from __future__ import annotations

import gc
import threading

import pytest

from radgov.core.collector import collector_paused


@pytest.fixture(autouse=True)
def _collector_on():  # type: ignore[no-untyped-def]
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_inside_and_on_after_even_when_the_block_raises() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: the inner end does not turn it on
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_as_a_decorator_and_left_off_when_it_was_off() -> None:
    @collector_paused()
    def inside() -> bool:
        return gc.isenabled()

    assert inside() is False and gc.isenabled()
    gc.disable()
    assert inside() is False
    assert not gc.isenabled()


def test_blocks_on_two_threads_turn_it_back_on_when_the_last_ends() -> None:
    entered, release_first, first_done = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with collector_paused():
            entered.set()
            release_first.wait(5)
        first_done.set()

    thread = threading.Thread(target=first)
    thread.start()
    assert entered.wait(5)
    with collector_paused():
        release_first.set()
        assert first_done.wait(5)
        thread.join(5)
        assert not gc.isenabled()  # the first thread's block ended, this one has not
    assert gc.isenabled()
