"""Pauses of the cyclic collector nest, also across threads (compiler.gcpause)."""

from __future__ import annotations

import gc
import threading

from compiler.gcpause import paused_gc


def test_pauses_nest_and_the_collector_comes_back_after_the_outermost() -> None:
    assert gc.isenabled()
    with paused_gc():
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner end leaves the outer pause paused
    assert gc.isenabled()


def test_a_thread_ending_its_pause_does_not_end_anothers() -> None:
    inside, release = threading.Event(), threading.Event()

    def reader() -> None:
        with paused_gc():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=reader)
    thread.start()
    assert inside.wait(10)
    with paused_gc():
        release.set()
        thread.join(10)  # the reader's pause ended, this one has not
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
