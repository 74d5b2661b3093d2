"""The upload room: at most its capacity in upload bytes at once, the others wait in arrival
order, and a waiter that gives up leaves the line."""

from __future__ import annotations

import asyncio
import contextlib

from companion.server.upload import UploadRoom

MB = 1024 * 1024


async def holding(room: UploadRoom, size: int, name: str, entered: list[str],
                  leave: asyncio.Event) -> None:
    async with room.hold(size):
        entered.append(name)
        await leave.wait()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_uploads_beyond_the_room_wait_in_arrival_order():
    async def scenario() -> list[list[str]]:
        room, entered, steps = UploadRoom(10 * MB), [], []
        leave = {name: asyncio.Event() for name in "abc"}
        tasks = [asyncio.create_task(holding(room, size, name, entered, leave[name]))
                 for name, size in (("a", 6 * MB), ("b", 6 * MB), ("c", 3 * MB))]
        await settle()
        steps.append(list(entered))  # c would fit beside a, but b came first
        leave["a"].set()
        await settle()
        steps.append(list(entered))
        assert room.free == 1 * MB
        leave["b"].set()
        leave["c"].set()
        await asyncio.gather(*tasks)
        assert room.free == room.capacity
        return steps

    assert asyncio.run(scenario()) == [["a"], ["a", "b", "c"]]


def test_an_upload_larger_than_the_room_still_gets_in_alone():
    async def scenario() -> int:
        room = UploadRoom(4 * MB)
        async with room.hold(20 * MB):
            return room.free

    assert asyncio.run(scenario()) == 0


def test_a_waiter_that_gives_up_leaves_the_line():
    async def scenario() -> list[str]:
        room, entered = UploadRoom(10 * MB), []
        leave = asyncio.Event()
        first = asyncio.create_task(holding(room, 8 * MB, "a", entered, leave))
        quitter = asyncio.create_task(holding(room, 8 * MB, "b", entered, leave))
        behind = asyncio.create_task(holding(room, 2 * MB, "c", entered, leave))
        await settle()
        quitter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await quitter
        await settle()
        inside = list(entered)  # c, once behind the quitter, got in beside a
        leave.set()
        await asyncio.gather(first, behind)
        return inside

    assert asyncio.run(scenario()) == ["a", "c"]
