"""Event listeners start only once the HTTP response is written."""

from __future__ import annotations

import threading

from bot.slack.executor import DeferringExecutor


def test_held_work_starts_on_release_and_other_work_at_once() -> None:
    pool = DeferringExecutor(max_workers=2)
    ran: list[str] = []
    done = threading.Event()
    hold = pool.held()
    with hold:
        pool.submit(ran.append, "event listener")
    assert ran == []  # held while the response is written
    pool.submit(ran.append, "click listener").result(timeout=5)  # no hold: runs at once
    assert ran == ["click listener"]
    pool.submit(done.set)
    hold.release()
    pool.shutdown(wait=True)
    assert ran == ["click listener", "event listener"] and done.is_set()


def test_hold_is_per_thread() -> None:
    pool = DeferringExecutor(max_workers=2)
    ran: list[str] = []
    with pool.held():
        other = threading.Thread(target=lambda: pool.submit(ran.append, "other thread"))
        other.start()
        other.join()
    pool.shutdown(wait=True)
    assert ran == ["other thread"]


def test_wait_idle_knows_when_every_listener_has_finished() -> None:
    pool = DeferringExecutor(max_workers=2)
    gate = threading.Event()
    pool.submit(gate.wait)
    assert pool.wait_idle(timeout=0) is False  # one listener still running
    ran: list[str] = []
    hold = pool.held()
    with hold:
        pool.submit(ran.append, "held")
    gate.set()
    assert pool.wait_idle(timeout=0) is False  # held work is on its way: not idle
    assert ran == []
    hold.release()
    assert pool.wait_idle(timeout=5) is True
    assert ran == ["held"]
    pool.shutdown(wait=True)
