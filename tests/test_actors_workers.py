"""The fair CPU scheduler: a light owner waits at most about one chunk of a busy
owner's work per core (issue 11 D9), FIFO within an owner, cancellation and token
bookkeeping."""

from __future__ import annotations

import time

import trio
import trio.testing

from carta_trio.actors import workers

CHUNK = 0.1


async def _busy_owner(owner: str, chunks: int, done: list[str]) -> None:
    """``chunks`` worker-thread chunks of ``CHUNK`` seconds queued at once by ``owner``."""

    async def one(index: int) -> None:
        await workers.run_sync(time.sleep, CHUNK, owner=owner)
        done.append(f"{owner}{index}")

    async with trio.open_nursery() as nursery:
        for index in range(chunks):
            nursery.start_soon(one, index)
            await trio.testing.wait_all_tasks_blocked(0.001)


async def test_light_owner_waits_one_chunk_not_the_whole_queue() -> None:
    tokens = workers.scheduler().total_tokens
    done: list[str] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_busy_owner, "heavy", 10 * tokens, done)
        await trio.sleep(CHUNK / 2)  # the heavy owner holds every token and has a long queue
        start = trio.current_time()
        await workers.run_sync(time.sleep, 0, owner="light")
        waited = trio.current_time() - start
    # FIFO would make the light request wait for the whole queue (~1 s); fair share:
    # at most the chunks already running.
    assert waited < 4 * CHUNK, waited
    assert len(done) == 10 * tokens
    assert workers.scheduler().borrowed_tokens == 0


async def test_busy_owners_alternate_and_keep_their_own_order() -> None:
    sched = workers.FairScheduler(1)
    order: list[tuple[str, int]] = []

    async def chunk(owner: str, index: int) -> None:
        await sched.acquire((owner, index), owner)
        try:
            await trio.sleep(0.01)  # holds the token; charged as CPU time
            order.append((owner, index))
        finally:
            sched.release((owner, index))

    async with trio.open_nursery() as nursery:
        for owner in "ab":
            for index in range(4):  # queued one after the other (trio starts tasks in any order)
                nursery.start_soon(chunk, owner, index)
                await trio.testing.wait_all_tasks_blocked()
    a = [i for o, i in order if o == "a"]
    b = [i for o, i in order if o == "b"]
    assert a == [0, 1, 2, 3] and b == [0, 1, 2, 3]
    # b arrived after a had queued four: it still gets every other turn, not the end
    assert order.index(("b", 0)) <= 2 and order.index(("b", 3)) <= 7
    assert ("b", 2) in order[:6]
    assert sched.borrowed_tokens == 0 and sched.queued() == 0


async def test_cancelled_waiter_leaves_the_queue() -> None:
    sched = workers.FairScheduler(1)
    await sched.acquire("holder", "a")
    with trio.move_on_after(0.05):
        await sched.acquire("waiter", "b")
    assert sched.queued() == 0 and sched.borrowed_tokens == 1
    sched.release("holder")
    assert sched.borrowed_tokens == 0


async def test_bursty_owners_do_not_earn_a_fresh_credit_at_every_burst() -> None:
    """Tile streams go idle for a moment between chunks (while their frames are sent).
    Coming back they resume at the CPU time they used, so a light owner doing a few
    chunks in a row (opening a file) goes next each time; it used to fall behind every
    stream that returned meanwhile."""
    sched = workers.FairScheduler(1)

    async def chunk(owner: str, seconds: float) -> None:
        await sched.acquire(trio.lowlevel.current_task(), owner)
        try:
            await trio.sleep(seconds)  # holds the token: charged as CPU time
        finally:
            sched.release(trio.lowlevel.current_task())

    async def stream(owner: str) -> None:
        while True:
            await chunk(owner, 0.02)
            await trio.sleep(0.01)  # sending what it made: idle for a moment

    async with trio.open_nursery() as nursery:
        for index in range(12):
            nursery.start_soon(stream, f"stream{index}")
        await trio.sleep(0.5)
        start = trio.current_time()
        for _ in range(5):  # five chunks in a row, each waits for the chunk running
            await chunk("light", 0.002)
        took = trio.current_time() - start
        nursery.cancel_scope.cancel()
    assert took < 5 * 0.02 + 0.1, took


async def test_owners_joining_one_after_another_do_not_push_a_light_owner_back() -> None:
    """Fifty tile streams start while a light session (a cursor) is idle for a moment.

    Each new owner used to start WAKE_CREDIT below the least-served active owner, which
    was the previous newcomer: the line sank by the credit at every arrival, so the
    light owner, coming back at what it had used, found every newcomer ahead of it and
    waited for a chunk of each (seconds under the 50-session load). Now the line (the
    least CPU time served among active owners) never goes back, new owners start half
    a credit below it and an owner coming back from idle a whole one: the light owner
    goes next."""
    sched = workers.FairScheduler(2)
    await sched.acquire("h0a", "heavy0")  # a busy owner holds both tokens
    await sched.acquire("h0b", "heavy0")
    # the light owner has been active before (one chunk while heavy0 was busy) ...
    sched.release("h0b")
    await sched.acquire("l0", "light")
    sched.release("l0")
    # ... and has been idle while heavy0 kept the cores busy
    await sched.acquire("h0b", "heavy0")
    await trio.sleep(0.1)
    sched.release("h0b")
    await sched.acquire("h0b", "heavy0")
    order: list[str] = []

    async def chunk(owner: str, index: int) -> None:
        await sched.acquire((owner, index), owner)
        order.append(owner)
        sched.release((owner, index))

    async with trio.open_nursery() as nursery:
        for n in range(1, 11):  # ten new owners, one after the other, two chunks each
            for index in range(2):
                nursery.start_soon(chunk, f"heavy{n}", index)
                await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(chunk, "light", 1)
        await trio.testing.wait_all_tasks_blocked()
        sched.release("h0a")  # one token frees: the chunks run one at a time, in grant order
        await trio.testing.wait_all_tasks_blocked()
        sched.release("h0b")
    assert order.index("light") == 0, order
