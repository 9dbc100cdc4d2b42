"""A waterfall run in a background thread: live progress, Cancel, and Resume.

The notebook's kernel must keep answering while a run goes on (so the Cancel button's click
arrives), so the run happens on a thread of its own. The engine hands progress snapshots to a
callable (``progress=``) and stops at a safe point when its ``cancel`` event is set: no new
call starts, calls in flight finish and are booked, rows not done end ``stopped``. Resume runs
the same list and spec again on the same ledger, which the engine continues — its budget
included, so a resumed run never spends more than the budget in total.

Example:
    >>> import polars as pl
    >>> from gtmkit.waterfall import Step, Waterfall
    >>> runner = RunController()
    >>> leads = pl.DataFrame({"row_id": [0], "first_name": ["Ann"], "last_name": ["Lee"],
    ...                       "company_domain": ["acme.io"], "email": [None]})
    >>> runner.start(Waterfall([Step("pattern")]), leads, {"ledger": None, "mode": "sandbox"})
    >>> runner.wait(timeout=30).state, runner.result.records.height
    ('finished', 1)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from gtmkit.errors import GtmkitError
from gtmkit.reports.wording import counted
from gtmkit.waterfall import RunProgress, WaterfallResult

__all__ = ["RunController", "RunState", "progress_line"]

RunState = Literal["idle", "running", "cancelling", "finished", "cancelled", "failed"]


@dataclass(frozen=True, slots=True)
class _Job:
    wf: Any
    records: Any
    options: Mapping[str, Any]


class RunController:
    """Runs one waterfall at a time on a thread.

    Args:
        on_progress: called (on the run's thread) with each ``RunProgress`` snapshot.
        on_state: called with the new state after every change (on whichever thread made it).

    Attributes:
        state: ``idle`` → ``running`` → (``cancelling`` →) ``finished``, ``cancelled`` or
            ``failed``; from any of the last three a new run or a resume may start.
        result: the last run's ``WaterfallResult`` (``None`` before one finished).
        error: what stopped the last run, when it failed (a message a person can act on).
        progress: the last snapshot.
    """

    def __init__(
        self,
        *,
        on_progress: Callable[[RunProgress], None] | None = None,
        on_state: Callable[[RunState], None] | None = None,
    ) -> None:
        self.on_progress = on_progress
        self.on_state = on_state
        self.state: RunState = "idle"
        self.result: WaterfallResult | None = None
        self.error: str | None = None
        self.progress: RunProgress | None = None
        self._job: _Job | None = None
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        return self.state in ("running", "cancelling")

    @property
    def can_resume(self) -> bool:
        """A finished run with rows left (stopped, or out of budget) on a ledger can go on."""
        if self.busy or self._job is None or self._job.options.get("ledger") is None:
            return False
        if self.state == "cancelled":
            return True
        totals = self.result.totals if self.result is not None else {}
        return bool(totals.get("stopped") or totals.get("budget_exhausted"))

    def start(self, wf: Any, records: Any, options: Mapping[str, Any]) -> None:
        """Start a run of ``wf`` over ``records`` with ``Waterfall.run`` options.

        Raises:
            RuntimeError: a run is already going on.
        """
        with self._lock:
            if self.busy:
                raise RunInProgress("a run is already going on: cancel it or wait for it")
            self._job = _Job(wf, records, dict(options))
            self._launch()

    def resume(self, **changes: Any) -> None:
        """Run the last job again (same list, same spec, same ledger): the engine continues it.

        ``changes`` replace run options, e.g. a larger ``budget_credits`` to top up.

        Raises:
            RuntimeError: nothing to resume, or a run is going on.
        """
        with self._lock:
            if self._job is None:
                raise RunInProgress("nothing to resume: start a run first")
            if self.busy:
                raise RunInProgress("a run is already going on: cancel it or wait for it")
            self._job = _Job(self._job.wf, self._job.records, {**self._job.options, **changes})
            self._launch()

    def cancel(self) -> None:
        """Ask the run to stop at its next safe point (nothing in flight is lost)."""
        if self.busy:
            self._cancel.set()
            self._set("cancelling")

    def wait(self, timeout: float | None = None) -> RunController:
        """Block until the run ends (for batch runs and tests); returns ``self``."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise TimeoutError(f"the run did not end within {timeout} s")
        return self

    def _launch(self) -> None:
        self._cancel = threading.Event()
        self.error = None
        self.progress = None
        self._set("running")
        job = self._job
        assert job is not None
        self._thread = threading.Thread(
            target=self._work, args=(job, self._cancel), name="gtmkit-panel-run", daemon=True
        )
        self._thread.start()

    def _work(self, job: _Job, cancel: threading.Event) -> None:
        try:
            result = job.wf.run(
                job.records, progress=self._progressed, cancel=cancel, **job.options
            )
        except GtmkitError as exc:
            self.error = str(exc)
            self._set("failed")
            return
        except Exception as exc:  # a bug must reach the person, not die with the thread
            self.error = f"{type(exc).__name__}: {exc}"
            self._set("failed")
            return
        self.result = result
        self._set("cancelled" if cancel.is_set() else "finished")

    def _progressed(self, snapshot: RunProgress) -> None:
        self.progress = snapshot
        if self.on_progress is not None:
            self.on_progress(snapshot)

    def _set(self, state: RunState) -> None:
        self.state = state
        if self.on_state is not None:
            self.on_state(state)


class RunInProgress(GtmkitError, RuntimeError):
    """A run cannot start now (one is going on, or there is nothing to resume)."""


def progress_line(snapshot: RunProgress, *, budget: str | None = None) -> str:
    """``"120 / 300 rows · 81 emails · 45 credits of 60"`` for the progress bar's label.

    Example:
        >>> snap = RunProgress(rows_total=300, rows_done=120, emails_found=81, credits=45.0,
        ...                    budget_credits=60.0, elapsed_s=3.2)
        >>> progress_line(snap)
        '120 / 300 rows · 81 emails · 45 credits of 60 · 3.2 s'
    """
    credits = counted(snapshot.credits, "credit", number=f"{snapshot.credits:g}")
    if snapshot.budget_credits is not None:
        spent = f"{credits} of {snapshot.budget_credits:g}"
    else:
        spent = credits + (f" (budget {budget})" if budget else "")
    line = (
        f"{snapshot.rows_done:,} / {counted(snapshot.rows_total, 'row')} · "
        f"{counted(snapshot.emails_found, 'email')} · {spent} · {snapshot.elapsed_s:.1f} s"
    )
    if snapshot.stopping and not snapshot.finished:
        line += f" · stopping ({snapshot.stopping})"
    return line
