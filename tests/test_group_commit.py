"""The group commit (lanbill.group_commit): concurrent callers' items are
written together, each caller gets its own outcome, and a failure reaches
exactly the callers it concerns."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from lanbill.group_commit import GroupCommit


def _run_together(group: GroupCommit, calls: list[tuple], *, start=None) -> list:
    """Submit every (key, item) from its own thread at once; the outcome
    or the exception of each, in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def call(index, key, item):
        barrier.wait()
        try:
            results[index] = group.submit(key, item)
        except Exception as exc:  # noqa: BLE001 - kept to be checked
            results[index] = exc

    threads = [threading.Thread(target=call, args=(i, key, item)) for i, (key, item) in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def test_a_lone_caller_writes_its_item_at_once_and_gets_its_outcome():
    seen = []
    group = GroupCommit(lambda key, items: seen.append((key, list(items))) or [item * 2 for item in items])
    assert group.submit("a", 21) == 42
    assert seen == [("a", [21])] and (group.batches, group.items) == (1, 1)


def test_concurrent_callers_share_batches_and_each_gets_its_own_outcome():
    batches = []

    def slow_batch(key, items):
        batches.append(list(items))
        time.sleep(0.02)  # a commit: the others pile up meanwhile
        return [f"{key}:{item}" for item in items]

    group = GroupCommit(slow_batch)
    results = _run_together(group, [("k", n) for n in range(16)])
    assert results == [f"k:{n}" for n in range(16)]
    assert sorted(item for batch in batches for item in batch) == list(range(16))  # each written once
    assert len(batches) < 16 and max(len(batch) for batch in batches) > 1


def test_items_of_different_keys_are_written_apart_and_one_keys_failure_stays_its_own():
    def run(key, items):
        time.sleep(0.01)
        if key == "bad":
            raise ValueError("refused")
        return list(items)

    group = GroupCommit(run)
    results = _run_together(group, [("good" if n % 2 else "bad", n) for n in range(10)])
    for n, result in enumerate(results):
        if n % 2:
            assert result == n
        else:
            assert isinstance(result, ValueError)


def test_a_failing_commit_fails_every_item_of_its_batch_and_the_next_batch_goes_on():
    state = {"fail": True}

    @contextlib.contextmanager
    def transaction():
        yield
        if state["fail"]:
            state["fail"] = False
            raise OSError("disk full")  # the commit fails after the items were "written"

    group = GroupCommit(lambda key, items: list(items), around=transaction)
    with pytest.raises(OSError):
        group.submit("k", 1)
    assert group.submit("k", 2) == 2  # the failure is not remembered


def test_a_wrong_number_of_outcomes_is_an_error_not_a_wrong_answer():
    group = GroupCommit(lambda key, items: [])
    with pytest.raises(RuntimeError):
        group.submit("k", 1)
