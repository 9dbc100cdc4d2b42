"""Run a coroutine to completion from sync code — a script or a Jupyter cell alike.

Jupyter kernels already run an event loop in the main thread, where ``asyncio.run`` refuses
to start. Rather than patching the loop (nest_asyncio), the coroutine runs on a worker thread
with its own fresh loop, and the cell blocks until it is done.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` and return its result, whether or not an event loop is already running.

    Example:
        >>> async def answer():
        ...     return 42
        >>> run_sync(answer())
        42
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="gtmkit-run") as pool:
        return pool.submit(asyncio.run, coro).result()
