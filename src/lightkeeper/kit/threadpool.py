"""`run_sync`: the one way request code runs blocking work off the event loop.

The same promise as Starlette's `run_in_threadpool` (the caller's context
variables go along; a cancelled caller still waits for the thread, which may be
using the request's session, before the cancellation goes on), on the event
loop's own executor machinery. anyio's version opens a cancel scope and takes a
capacity-limiter token per call: measured at 74 µs of CPU per call under 16
concurrent callers on uvloop, against 25 µs for this (docs/decisions.md,
"Request path"). As many threads as anyio's default limiter allowed (40).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

MAX_THREADS = 40
_executor = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="lightkeeper-sync")


async def run_sync(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`func(*args, **kwargs)` in a worker thread, with the caller's context variables."""
    context = contextvars.copy_context()
    future = asyncio.get_running_loop().run_in_executor(
        _executor, lambda: context.run(func, *args, **kwargs)
    )
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        # A thread cannot be interrupted: let it finish before the caller goes on
        # (and closes, say, the session the thread is using).
        await asyncio.wait([future])
        raise
