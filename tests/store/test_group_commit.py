"""Group commit, on every store: writes that arrive while a commit is under way are committed
together by the next writer, each caller with its own answer. An outcome recorded with
``wait=False`` (as the engine records them) goes with the store's next transaction: any thread's
next write, the next read, or closing the store; a refusal of it stops the next writer.

The writer's place is held, to line writes up behind it, by a transaction of a test thread's own
(``store._tx(..., write=True)``); tests wait for the queue to fill, never for a time to pass."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence

import pytest

from ledgerrun.errors import JournalError
from ledgerrun.store.commit import GroupCommit, Write
from ledgerrun.store.model import PENDING, SUCCEEDED, Store
from tests.helpers.store import intent, succeed

WAIT_S = 10.0


class Holder:
    """A thread holding the store's writer's place until :meth:`release`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._held, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        with self.store._tx("hold the writer's place", write=True):  # type: ignore[attr-defined]
            self._held.set()
            self._release.wait(WAIT_S)

    def __enter__(self) -> Holder:
        self._thread.start()
        assert self._held.wait(WAIT_S)
        return self

    def release(self) -> None:
        self._release.set()
        self._thread.join(WAIT_S)
        assert not self._thread.is_alive()

    def __exit__(self, *exc: object) -> None:
        self.release()


def queued(store: Store, count: int) -> None:
    """Wait until ``count`` writes wait behind the writer."""
    writer: GroupCommit = store._writer  # type: ignore[attr-defined]
    deadline = time.monotonic() + WAIT_S
    while len(writer._queue) < count:
        assert time.monotonic() < deadline, f"{len(writer._queue)} writes queued, not {count}"
        time.sleep(0.001)


@pytest.fixture
def batches(store: Store) -> Iterator[list[int]]:
    """How many writes each transaction of the store's writer held."""
    writer: GroupCommit = store._writer  # type: ignore[attr-defined]
    run, sizes = writer._run, []

    def counted(writes: Sequence[Write]) -> list[bool]:
        sizes.append(len(writes))
        return run(writes)

    writer._run = counted
    yield sizes
    writer._run = run


def in_thread(
    work: Callable[[], None], errors: dict[str, BaseException], name: str
) -> Callable[[], None]:
    def run() -> None:
        try:
            work()
        except BaseException as exc:  # reported by the test
            errors[name] = exc

    return run


def later(store: Store, key: str = "adj-1", **changes: object) -> None:
    """An outcome whose caller does not wait for its commit."""
    succeed(store, key, wait=False, **changes)


def test_writes_waiting_behind_a_commit_are_committed_together_each_with_its_answer(
    store: Store, batches: list[int]
) -> None:
    store.record_intent(intent("adj-0"))
    store.record_intent(intent("adj-9"))
    batches.clear()
    errors: dict[str, BaseException] = {}
    threads = [
        threading.Thread(
            target=in_thread(lambda k=key: store.record_intent(intent(k)), errors, key)  # type: ignore[misc]
        )
        for key in ("adj-1", "adj-2", "adj-3")
    ]
    other_key = intent("adj-9", idempotency_key="another-key")  # refused: same generation
    threads.append(
        threading.Thread(target=in_thread(lambda: store.record_intent(other_key), errors, "adj-9"))
    )
    with Holder(store):
        for thread in threads:
            thread.start()
        queued(store, 4)
        later(store, "adj-0")  # an outcome that does not wait: it goes with them
        queued(store, 5)
    for thread in threads:
        thread.join(WAIT_S)
    assert batches == [5]  # four intents and an outcome: one transaction
    assert set(errors) == {"adj-9"} and "higher generation" in str(errors["adj-9"])
    got = store.entries(["adj-0", "adj-1", "adj-2", "adj-3", "adj-9"])
    assert [got[k].state for k in ("adj-1", "adj-2", "adj-3")] == [PENDING] * 3
    assert got["adj-0"].state == SUCCEEDED
    assert got["adj-9"].idempotency_key == intent("adj-9").idempotency_key  # kept


def test_an_outcome_that_did_not_wait_goes_with_the_next_write_of_any_thread(
    store: Store, batches: list[int]
) -> None:
    store.record_intent(intent())
    batches.clear()
    later(store)  # nothing else under way: still not committed on its own
    assert batches == [] and store._writer._deferred == 1  # type: ignore[attr-defined]
    other = threading.Thread(target=lambda: store.record_intent(intent("adj-2")))
    other.start()
    other.join(WAIT_S)
    assert batches == [2]  # the other thread's intent took it along: one transaction


def test_an_outcome_that_did_not_wait_is_read_by_its_thread_and_any_other(store: Store) -> None:
    store.record_intent(intent())
    later(store)
    assert store.entries(["adj-1"])["adj-1"].state == SUCCEEDED  # the read commits it first
    store.record_intent(intent("adj-2"))
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.append(store.entries(["adj-2"])["adj-2"].state))
    with Holder(store) as holder:
        later(store, "adj-2")  # queued behind another transaction
        reader.start()  # waits for that outcome, not for a snapshot without it
        holder.release()
        reader.join(WAIT_S)
    assert seen == [SUCCEEDED]


def test_the_failure_of_an_outcome_that_did_not_wait_stops_the_next_writer(store: Store) -> None:
    later(store, "ghost")  # no intent for it: refused, but only once a transaction carries it
    store.record_intent(intent("adj-2"))  # carries it (and is kept)
    with pytest.raises(JournalError, match="no intent"):
        store.record_intent(intent("adj-3"))  # told, and not written
    assert set(store.entries(["adj-2", "adj-3"])) == {"adj-2"}
    store.record_intent(intent("adj-3"))  # said once: the next write goes through
    assert store.entries(["adj-3"])["adj-3"].state == PENDING


def test_a_commit_that_fails_fails_every_write_in_it_and_hands_the_place_on(
    store: Store, batches: list[int]
) -> None:
    writer: GroupCommit = store._writer  # type: ignore[attr-defined]
    run = writer._run

    def fails_once(writes: Sequence[Write]) -> list[bool]:
        writer._run = run
        raise JournalError("the journal could not commit: the disk is full")

    errors: dict[str, BaseException] = {}
    keys = ("adj-1", "adj-2")
    threads = [
        threading.Thread(
            target=in_thread(lambda k=key: store.record_intent(intent(k)), errors, key)  # type: ignore[misc]
        )
        for key in keys
    ]
    with Holder(store):
        for thread in threads:
            thread.start()
        queued(store, 2)
        writer._run = fails_once
    for thread in threads:
        thread.join(WAIT_S)
    assert set(errors) == set(keys) and all("disk is full" in str(e) for e in errors.values())
    assert store.entries(keys) == {}  # neither intent was written: neither is sent
    store.record_intent(intent("adj-3"))
    assert store.entries(["adj-3"])["adj-3"].state == PENDING


def test_close_commits_the_outcomes_that_did_not_wait(open_: Callable[..., Store]) -> None:
    store = open_()
    store.record_intent(intent())
    store.record_intent(intent("adj-2"))
    later(store)
    with Holder(store):
        later(store, "adj-2")
        closing = threading.Thread(target=store.close)
        closing.start()  # waits for the holder, then commits the outcomes, then closes
    closing.join(WAIT_S)
    got = open_().entries(["adj-1", "adj-2"])
    assert [got[k].state for k in ("adj-1", "adj-2")] == [SUCCEEDED, SUCCEEDED]


def test_an_outcome_that_waits_is_committed_before_its_call_returns(
    store: Store, batches: list[int]
) -> None:
    store.record_intent(intent())
    batches.clear()
    succeed(store)
    assert batches == [1] and store._writer._deferred == 0  # type: ignore[attr-defined]
