"""Progress of a run, for a person: a tqdm bar, or snapshots handed to a callable (a widget).

Updates are throttled (every 0.2 s) so a 20,000-row run does not spend its time redrawing;
the last snapshot, with the final counts, is always delivered.

Example:
    >>> seen = []
    >>> p = Progress(2, enabled=seen.append, desc="t")
    >>> p.row_done(hit=True, credits=1.0)
    >>> p.close(finished=True)
    >>> seen[-1].rows_done, seen[-1].finished
    (1, True)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RunProgress:
    """One snapshot of a running waterfall."""

    rows_total: int
    rows_done: int
    emails_found: int
    credits: float
    budget_credits: float | None
    elapsed_s: float
    finished: bool = False
    #: why the run is stopping (cancel or deadline), if it is
    stopping: str | None = None
    by_provider: dict[str, dict[str, float]] = field(default_factory=dict)


class Progress:
    """A thin wrapper so the engine never checks how progress is shown.

    Args:
        total: rows in the run.
        enabled: ``True`` (tqdm bar), ``False`` (nothing) or a callable receiving
            :class:`RunProgress` snapshots.
        desc: the bar's label.
        budget_credits: shown against the credits spent.
        details: called for the per-provider figures of a snapshot.
    """

    def __init__(
        self,
        total: int,
        *,
        enabled: bool | Callable[[RunProgress], Any],
        desc: str = "waterfall",
        budget_credits: float | None = None,
        details: Callable[[], dict[str, dict[str, float]]] | None = None,
    ) -> None:
        self.total = total
        self.hits = 0
        self.done = 0
        self.credits = 0.0
        self.budget_credits = budget_credits
        self.stopping: str | None = None
        self._details = details
        self._started = time.monotonic()
        self._callback = enabled if callable(enabled) else None
        self._bar = None
        self._last = 0.0
        if enabled is True:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="row", dynamic_ncols=True)

    def row_done(self, *, hit: bool, credits: float) -> None:
        self.done += 1
        self.hits += int(hit)
        self.credits = credits
        if self._bar is not None:
            self._bar.update(1)
        now = time.monotonic()
        if now - self._last > 0.2:
            self._last = now
            self._show(finished=False)

    def rows_done(self, n: int) -> None:
        self.done += n
        if self._bar is not None and n:
            self._bar.update(n)

    def snapshot(self, *, finished: bool) -> RunProgress:
        return RunProgress(
            rows_total=self.total,
            rows_done=self.done,
            emails_found=self.hits,
            credits=self.credits,
            budget_credits=self.budget_credits,
            elapsed_s=time.monotonic() - self._started,
            finished=finished,
            stopping=self.stopping,
            by_provider=self._details() if self._details is not None else {},
        )

    def _show(self, *, finished: bool) -> None:
        if self._bar is not None:
            self._bar.set_postfix(hits=self.hits, credits=f"{self.credits:g}", refresh=False)
        if self._callback is not None:
            self._callback(self.snapshot(finished=finished))

    def note(self, message: str) -> None:
        """Tell the person running it (above the bar), and the ``gtmkit.waterfall`` logger."""
        logging.getLogger("gtmkit.waterfall").info(message)
        if self._bar is not None:
            self._bar.write(message)

    def close(self, *, finished: bool = True) -> None:
        # the throttled postfix may lag: what is left on screen must show the final counts
        self._show(finished=finished)
        if self._bar is not None:
            self._bar.close()
