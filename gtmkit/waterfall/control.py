"""``RunControl``: whether the run should stop starting calls (cancel or deadline), and sleeps
that end early when it should.

Example:
    >>> control = RunControl(deadline_s=None, cancel=None)
    >>> control.stopping() is None
    True
"""

from __future__ import annotations

import asyncio
import threading
import time


class RunControl:
    """Cancel (a ``threading.Event`` a widget or another thread sets) and a wall-clock deadline."""

    def __init__(self, *, deadline_s: float | None, cancel: threading.Event | None) -> None:
        self.started = time.monotonic()
        self.deadline = None if deadline_s is None else self.started + deadline_s
        self.deadline_s = deadline_s
        self.cancel = cancel

    def stopping(self) -> str | None:
        """Why no new call may start, or ``None``."""
        if self.cancel is not None and self.cancel.is_set():
            return "run cancelled; resume to continue"
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return f"run deadline of {self.deadline_s:g} s reached; resume to continue"
        return None

    def loop_deadline(self) -> float | None:
        """The deadline on the running event loop's clock (for ``asyncio.timeout``)."""
        if self.deadline is None:
            return None
        return asyncio.get_running_loop().time() + (self.deadline - time.monotonic())

    async def sleep(self, seconds: float) -> None:
        """Sleep, waking early (within 0.25 s) when the run is told to stop."""
        end = time.monotonic() + max(0.0, seconds)
        while True:
            left = end - time.monotonic()
            if left <= 0 or self.stopping():
                return
            await asyncio.sleep(min(left, 0.25))
