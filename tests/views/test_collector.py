"""Python's cycle collector runs on the GUI thread only (console/views/collector.py): a worker thread that
allocates never collects, so it never destroys a Qt object, which could freeze the console."""

from __future__ import annotations

import gc
import threading
import weakref

from console.views.collector import collect_on_gui_thread


class _Cycle:
    def __init__(self) -> None:
        self.itself = self


def test_a_cycle_a_worker_leaves_is_collected_by_the_gui_thread_not_the_worker(qapp, qtbot):
    collector = collect_on_gui_thread(qapp)
    assert collect_on_gui_thread(qapp) is collector  # once per application
    assert not gc.isenabled()
    left: list[weakref.ref[_Cycle]] = []
    kept: list[list[object]] = []

    def worker() -> None:
        left.append(weakref.ref(_Cycle()))
        kept.extend([] for _ in range(50_000))  # far past the youngest generation's threshold

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert left[0]() is not None, "the worker thread collected it"
    qtbot.waitUntil(lambda: left[0]() is None, timeout=5000)  # the GUI thread's timer
    kept.clear()


def test_the_gui_thread_collects_each_generation_only_past_its_threshold(qapp):
    collector = collect_on_gui_thread(qapp)
    collector.collect()
    gc.collect()  # all counts back to zero
    cycle = weakref.ref(_Cycle())
    assert collector.collect() == 0 and cycle() is not None  # the young generation is under its threshold
    alive = [[] for _ in range(collector.threshold[0] + 10)]  # allocations counted until collected
    assert collector.collect() >= 1 and cycle() is None
    del alive
