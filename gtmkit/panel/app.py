"""The JupyterLab panel that runs a waterfall: list in, columns checked, steps ordered, budget
set, estimate read, run watched, result previewed and downloaded.

Every step is a method a person triggers from a widget and code can call directly (the
notebook's batch route and the tests do): :meth:`WaterfallPanel.load_path`,
:meth:`~WaterfallPanel.set_mapping`, :meth:`~WaterfallPanel.set_steps`,
:meth:`~WaterfallPanel.set_budget`, :meth:`~WaterfallPanel.run`, :meth:`~WaterfallPanel.cancel`,
:meth:`~WaterfallPanel.resume`. The estimate is recomputed after every change, before anything
is spent; Run stays disabled until the estimate shown is the estimate of what would run, and
asks for confirmation when the run could spend more than ``confirm_above_usd``.

Example:
    >>> panel = WaterfallPanel(path="data/samples/leads_small.csv", budget_credits=60,
    ...                        mode="sandbox", ledger=None)
    >>> panel.loaded.records.height > 0, panel.can_run
    (True, True)
    >>> result = panel.run_batch()
    >>> 0 < result.totals["credits"] <= 60
    True
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, Literal

import polars as pl

from gtmkit.errors import GtmkitError
from gtmkit.lists import ListError, LoadedList, load_list
from gtmkit.lists.read import DEFAULT_MAX_BYTES
from gtmkit.panel.chunks import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_UPLOAD_LIMIT_BYTES,
    CompletedUpload,
    human_size,
)
from gtmkit.panel.estimate import Budget, BudgetUnit, estimate_html, summarize
from gtmkit.panel.files import list_data_files, resolve_data_file
from gtmkit.panel.mapping import MappingEditor, counts_line
from gtmkit.panel.preview import preview_html
from gtmkit.panel.runner import RunController, RunState, progress_line
from gtmkit.panel.steps import StepPicker, StepPlan
from gtmkit.paths import display_path, project_root, resolve_path
from gtmkit.reports.wording import counted, plural
from gtmkit.waterfall import RunProgress, Waterfall, WaterfallResult

__all__ = ["DEFAULT_STEPS", "PanelError", "WaterfallPanel"]

#: The steps a panel starts with when none are given: cheapest likely first.
DEFAULT_STEPS: tuple[str, ...] = ("hunter", "apollo", "pdl")
Mode = Literal["auto", "sandbox", "live"]


class PanelError(GtmkitError, ValueError):
    """The panel cannot do what was asked yet (no list, no estimate, no budget...); the message
    says what to do first."""


@dataclass(frozen=True, slots=True)
class _Source:
    """Where the current list comes from (reloaded with a corrected mapping)."""

    path: Path
    name: str


class WaterfallPanel:
    """Run a waterfall from JupyterLab. Display the object (last line of a cell) to use it.

    Args:
        path: a list to start with (a notebook's ``path`` parameter); any path the server can
            read, unlike the picker, which offers only files under ``data_dir``.
        steps: provider names in order, when no ``waterfall`` is given.
        verify: the verifier provider (``""``/``None``: none).
        waterfall: start from this spec (a ``Recommendation``'s or a pattern's, with its
            labels, stop rules and segment routing).
        source: what the spec came from, as the panel names it ("pattern smb-verified...").
        budget_credits, budget_usd: the budget (one of them); per_row_cap_credits: the most
            one row may cost.
        mode: ``"sandbox"`` (simulated, free), ``"auto"`` or ``"live"`` (real APIs, keys from
            the environment — real money).
        ledger: the run's ledger (cache, resume, history); default ``out_dir/ledger.sqlite``;
            ``None``: no ledger (then Resume cannot continue a run).
        out_dir: where the default ledger goes (git-ignored ``data/runs/...``).
        history: what the estimate rests on: ``"auto"`` (the pattern or comparison the panel
            started from while the steps are theirs, else this ledger's history, else the
            default prior), or a ``Ledger`` / path / ``Comparison`` / ``Pattern``.
        data_dir: the folder the server-file picker offers (default: the project's ``data/``).
        upload_limit_bytes: the largest upload (default 200 MB).
        chunk_bytes: bytes per upload or download message.
        confirm_above_usd: Run asks for confirmation when the run could spend more.
        connect_options: passed to the engine's ``connect`` (a ``simulate(...)``'s options).
        preview_rows: rows shown in the preview.
    """

    def __init__(
        self,
        *,
        path: str | os.PathLike[str] | None = None,
        steps: Sequence[str] = DEFAULT_STEPS,
        verify: str | None = "hunter_verifier",
        waterfall: Waterfall | None = None,
        source: str | None = None,
        budget_credits: float | None = None,
        budget_usd: float | None = None,
        per_row_cap_credits: float | None = None,
        mode: Mode = "sandbox",
        ledger: str | os.PathLike[str] | Literal["default"] | None = "default",
        out_dir: str | os.PathLike[str] = "data/runs/panel",
        history: Any = "auto",
        data_dir: str | os.PathLike[str] | None = None,
        upload_limit_bytes: int = DEFAULT_UPLOAD_LIMIT_BYTES,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        confirm_above_usd: float = 25.0,
        connect_options: Mapping[str, Any] | None = None,
        preview_rows: int = 50,
    ) -> None:
        if budget_credits is not None and budget_usd is not None:
            raise PanelError("give budget_credits or budget_usd, not both")
        self.mode: Mode = mode
        self.out_dir = resolve_path(out_dir)
        self.ledger: Path | None = (
            self.out_dir / "ledger.sqlite"
            if ledger == "default"
            else (None if ledger is None or ledger == "" else resolve_path(ledger))
        )
        self.history = history
        self.data_dir = Path(data_dir) if data_dir is not None else project_root() / "data"
        self.confirm_above_usd = float(confirm_above_usd)
        self.connect_options = dict(connect_options) if connect_options else None
        self.preview_rows = preview_rows
        spec = waterfall or Waterfall([_step(n) for n in steps], verify=verify or None)
        self.plan = StepPlan.from_waterfall(spec, source=source)
        self._documented = [s.provider for s in spec.steps] if source else None
        amount = budget_usd if budget_usd is not None else budget_credits
        unit: BudgetUnit = "usd" if budget_usd is not None else "credits"
        self.budget = Budget(unit=unit, amount=amount, per_row_cap_credits=per_row_cap_credits)

        self.loaded: LoadedList | None = None
        self.source: _Source | None = None
        self.table: pl.DataFrame | None = None
        self._estimated_for: tuple[Any, ...] | None = None
        self._confirming = False
        self.runner = RunController(on_progress=self._progressed, on_state=self._run_state)
        self._build(upload_limit_bytes, chunk_bytes)
        if path:
            self.load_path(path, trusted=True)
        else:
            self.refresh_estimate()

    # ------------------------------------------------------------------ alternative starts
    @classmethod
    def from_pattern(cls, pattern: Any, **options: Any) -> WaterfallPanel:
        """Start from a pattern's documented waterfall; the estimate rests on its figures
        while its steps are kept in their documented order.

        ``substitute=`` is passed to ``Pattern.to_waterfall`` (steps gtmkit has no adapter for).
        """
        substitute = options.pop("substitute", None)
        options.setdefault("history", "auto")
        panel = cls(
            waterfall=pattern.to_waterfall(substitute=substitute),
            source=f"pattern {getattr(pattern, 'name', '')}".strip(),
            **options,
        )
        panel._documented_history = pattern
        panel.refresh_estimate()
        return panel

    @classmethod
    def from_recommendation(
        cls, recommendation: Any, *, comparison: Any = None, **options: Any
    ) -> WaterfallPanel:
        """Start from ``gtmkit.compare(...).recommend(...)``: its order, its segment routing,
        and (given the ``comparison``) an estimate from the hit rates it measured."""
        panel = cls(waterfall=recommendation.waterfall, source="recommendation", **options)
        panel._documented_history = comparison
        panel.refresh_estimate()
        return panel

    _documented_history: Any = None

    # ------------------------------------------------------------------ the widgets
    def _build(self, upload_limit_bytes: int, chunk_bytes: int) -> None:
        import ipywidgets as w

        from gtmkit.panel.downloads import DownloadButtons
        from gtmkit.panel.upload import ChunkedUpload

        def section(title: str, *children: Any) -> Any:
            box = w.VBox([w.HTML(f"<h4 class='gtmkit-section'>{escape(title)}</h4>"), *children])
            box.add_class("gtmkit-panel-section")
            return box

        self.upload = ChunkedUpload(
            limit_bytes=upload_limit_bytes, chunk_bytes=chunk_bytes, on_file=self._uploaded
        )
        self.server_files = w.Dropdown(description="Server file", layout=w.Layout(width="520px"))
        self.server_load = w.Button(description="Load", icon="folder-open")
        self.server_refresh = w.Button(icon="refresh", tooltip="list the data folder again",
                                       layout=w.Layout(width="40px"))  # fmt: skip
        self.server_load.on_click(lambda _: self._load_server_file())
        self.server_refresh.on_click(lambda _: self.refresh_server_files())
        self.list_status = w.HTML()
        self.refresh_server_files()

        self.mapping = MappingEditor(self.set_mapping)
        self.steps = StepPicker(self.plan, lambda _plan: self.refresh_estimate())

        self.budget_unit = w.ToggleButtons(
            options=[("credits", "credits"), ("dollars", "usd")], value=self.budget.unit,
            description="Budget in",
        )  # fmt: skip
        self.budget_amount = w.FloatText(value=self.budget.amount or 0.0, description="Budget",
                                         layout=w.Layout(width="220px"))  # fmt: skip
        self.row_cap = w.FloatText(
            value=self.budget.per_row_cap_credits or 0.0,
            description="Per-row cap",
            tooltip="most credits one row may cost (0: no cap)",
            layout=w.Layout(width="220px"),
        )
        for control in (self.budget_unit, self.budget_amount, self.row_cap):
            control.observe(lambda _: self._budget_changed(), names="value")
        self.budget_note = w.HTML()

        self.estimate_view = w.HTML()
        self.estimate_view.add_class("gtmkit-estimate-view")

        self.run_button = w.Button(description="Run", button_style="success", icon="play")
        self.cancel_button = w.Button(description="Cancel", button_style="danger", icon="stop",
                                      disabled=True)  # fmt: skip
        self.resume_button = w.Button(description="Resume", icon="forward", disabled=True)
        self.run_button.on_click(lambda _: self._clicked_run())
        self.cancel_button.on_click(lambda _: self.cancel())
        self.resume_button.on_click(lambda _: self._clicked_resume())
        self.confirm_text = w.HTML()
        self.confirm_yes = w.Button(description="Yes, run it", button_style="warning")
        self.confirm_no = w.Button(description="Back")
        self.confirm_yes.on_click(lambda _: self._confirmed())
        self.confirm_no.on_click(lambda _: self._show_confirm(False))
        self.confirm_box = w.VBox(
            [self.confirm_text, w.HBox([self.confirm_yes, self.confirm_no])],
            layout=w.Layout(display="none"),
        )
        self.confirm_box.add_class("gtmkit-confirm")
        self.progress_bar = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="520px"))
        self.progress_text = w.HTML()
        self.progress_text.add_class("gtmkit-progress-text")
        self.providers_view = w.HTML()
        self.run_message = w.HTML()
        self.run_message.add_class("gtmkit-run-message")

        self.preview = w.HTML()
        self.preview.add_class("gtmkit-preview-view")
        self.downloads = DownloadButtons(self._download_frame, chunk_bytes=chunk_bytes)

        for control, name in (
            (self.budget_unit, "unit"), (self.budget_amount, "amount"), (self.row_cap, "row-cap"),
            (self.run_button, "run"), (self.cancel_button, "cancel"),
            (self.resume_button, "resume"), (self.confirm_yes, "confirm-yes"),
            (self.confirm_no, "confirm-no"), (self.server_files, "server-files"),
            (self.server_load, "server-load"), (self.progress_bar, "progress"),
        ):  # fmt: skip
            control.add_class(f"gtmkit-{name}")
        self.widget = w.VBox(
            [
                w.HTML(
                    "<h3 class='gtmkit-title'>Run a waterfall</h3><div>"
                    + escape(self._mode_line())
                    + "</div>"
                ),
                section(
                    "1 · The list",
                    self.upload,
                    w.HBox([self.server_files, self.server_load, self.server_refresh]),
                    self.list_status,
                ),
                section("2 · Columns (correct a mapping; the counts follow)", self.mapping.widget),
                section("3 · Steps (tick, drag to reorder)", self.steps.widget),
                section(
                    "4 · Budget",
                    w.HBox([self.budget_unit, self.budget_amount, self.row_cap]),
                    self.budget_note,
                ),
                section("5 · Estimate (before anything is spent)", self.estimate_view),
                section(
                    "6 · Run",
                    w.HBox([self.run_button, self.cancel_button, self.resume_button]),
                    self.confirm_box,
                    self.progress_bar,
                    self.progress_text,
                    self.providers_view,
                    self.run_message,
                ),
                section("7 · Result", self.preview, self.downloads),
            ]
        )
        self.widget.add_class("gtmkit-panel")

    def _mode_line(self) -> str:
        if self.mode == "sandbox":
            where = "sandbox: the simulated providers — no key, nothing real is spent"
        else:
            where = f"{self.mode}: real provider APIs where a key is set — real money"
        ledger = display_path(self.ledger) if self.ledger else "none (no cache, no resume)"
        return f"Mode {where}. Ledger: {ledger}."

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):  # what a static page shows instead of the live panel
            bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        shown = (
            f"{self.source.name}: {counts_line(self.loaded)}"
            if self.source and self.loaded
            else "no list loaded"
        )
        return f"<WaterfallPanel {shown}; open this notebook in JupyterLab to use the panel>"

    # ------------------------------------------------------------------ the list
    def refresh_server_files(self) -> None:
        """List the data folder again (a file copied there since shows up)."""
        files = list_data_files(self.data_dir)
        self.server_files.options = [("(pick a file)", ""), *((f.label, f.relative) for f in files)]
        self.server_files.value = ""

    def _load_server_file(self) -> None:
        choice = self.server_files.value
        if not choice:
            self._list_message("Pick a file under the data folder first.", error=True)
            return
        try:
            self.load_path(resolve_data_file(self.data_dir, choice), trusted=True)
        except ListError as exc:
            self._list_message(str(exc), error=True)

    def load_path(self, path: str | os.PathLike[str], *, trusted: bool = False) -> LoadedList:
        """Load a list from a server path (``trusted``: any path; else only under data_dir).

        Raises:
            ListError: the file cannot be read as a list (also shown in the panel).
        """
        target = resolve_path(path) if trusted else resolve_data_file(self.data_dir, str(path))
        return self._load(_Source(Path(target), Path(target).name))

    def _uploaded(self, done: CompletedUpload) -> str:
        self._load(_Source(done.path, done.name))
        # the counts are shown once, under the list (they change with the mapping)
        return f"{done.name} uploaded ({human_size(done.size)}) and loaded: see below."

    def _load(self, source: _Source, mapping: Mapping[str, str | None] | None = None) -> LoadedList:
        try:
            limit = max(self.upload.limit_bytes, DEFAULT_MAX_BYTES)
            loaded = load_list(source.path, filename=source.name, mapping=mapping, max_bytes=limit)
        except ListError as exc:
            self._list_message(f"Could not load {source.name}: {exc}", error=True)
            raise
        new_list = self.source != source
        self.source, self.loaded = source, loaded
        if new_list:
            self.mapping.reset()
            self._clear_result()
        self.mapping.show(loaded)
        self._list_message(f"{source.name}: {counts_line(loaded)}.")
        self.refresh_estimate()
        return loaded

    def set_mapping(self, corrections: Mapping[str, str | None]) -> LoadedList | None:
        """Reload the list with ``mapping=corrections`` (what a changed dropdown does)."""
        if self.source is None:
            return None
        try:
            return self._load(self.source, dict(corrections))
        except ListError:
            return None  # the message is shown; the previous list stays loaded

    def _list_message(self, text: str, *, error: bool = False) -> None:
        colour = "#b42318" if error else "#067647"
        self.list_status.value = (
            f"<div class='gtmkit-list-status' data-error='{str(error).lower()}' "
            f"style='color:{colour}'>{escape(text)}</div>"
        )

    # ------------------------------------------------------------------ steps and budget
    def set_steps(self, names: Sequence[str]) -> None:
        """Tick exactly ``names``, in that order (what dragging and ticking do)."""
        self.steps.set_order(names)

    def set_budget(
        self,
        amount: float | None,
        *,
        unit: BudgetUnit | None = None,
        per_row_cap_credits: float | None = None,
    ) -> None:
        """Set the budget as the controls would."""
        with self.widget.hold_sync():
            if unit is not None:
                self.budget_unit.value = unit
            self.budget_amount.value = amount or 0.0
            self.row_cap.value = per_row_cap_credits or 0.0
        self._budget_changed()

    def _budget_changed(self) -> None:
        amount = self.budget_amount.value or None
        try:
            self.budget = Budget(unit=self.budget_unit.value, amount=amount,
                                 per_row_cap_credits=self.row_cap.value or None)  # fmt: skip
        except GtmkitError as exc:
            self.budget_note.value = f"<span style='color:#b42318'>{escape(str(exc))}</span>"
            self._estimated_for = None
            self._sync_buttons()
            return
        self.budget_note.value = ""
        self.refresh_estimate()

    # ------------------------------------------------------------------ estimate
    def waterfall(self) -> Waterfall:
        """The waterfall the panel would run now."""
        return self.plan.waterfall()

    def _key(self) -> tuple[Any, ...]:
        wf = self.plan.waterfall()
        return (id(self.loaded), wf.fingerprint(), tuple(sorted((wf.prices or {}).items())),
                self.budget)  # fmt: skip

    def estimate_history(self) -> Any:
        """What the estimate rests on now (see the ``history`` argument)."""
        if self.history != "auto":
            return self.history
        documented = self._documented_history
        if documented is not None and self.plan.order == self._documented:
            return documented
        if self.ledger is not None and self.ledger.is_file():
            return self.ledger
        return None

    def refresh_estimate(self) -> pl.DataFrame | None:
        """Recompute the estimate for the current list, steps and budget, and show it."""
        self._estimated_for = None
        self.table = None
        self._show_confirm(False)
        if self.loaded is None:
            self.estimate_view.value = "<i>Load a list to see what a run would cost.</i>"
            self._sync_buttons()
            return None
        try:
            wf = self.plan.waterfall()
            table = wf.estimate(self.loaded, history=self.estimate_history())
            shown = estimate_html(table, self.budget, wf)
        except GtmkitError as exc:
            self.estimate_view.value = f"<span style='color:#b42318'>{escape(str(exc))}</span>"
            self._sync_buttons()
            return None
        self.table = table
        self.estimate_view.value = shown
        self._estimated_for = self._key()
        self._sync_buttons()
        return table

    @property
    def can_run(self) -> bool:
        """An estimate of exactly what would run is shown, a budget is set, nothing runs."""
        if self.runner.busy or self._estimated_for is None or self.budget.amount is None:
            return False
        try:
            return self._estimated_for == self._key()
        except GtmkitError:
            return False

    # ------------------------------------------------------------------ run
    def _run_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            **self.budget.run_options(),
            "ledger": str(self.ledger) if self.ledger is not None else None,
            "mode": self.mode,
        }
        if self.connect_options:
            options["connect_options"] = self.connect_options
        if self.ledger is not None:
            self.ledger.parent.mkdir(parents=True, exist_ok=True)
        return options

    def needs_confirmation(self) -> bool:
        """Whether the run could spend more than ``confirm_above_usd``."""
        if self.table is None:
            return False
        return summarize(self.table, self.budget, self.plan.waterfall()).ceiling_usd > (
            self.confirm_above_usd
        )

    def run(self, *, confirmed: bool = False) -> None:
        """Start the run in the background (what Run does).

        Raises:
            PanelError: no estimate for what would run, no budget, or confirmation needed and
                not given (the message says which).
        """
        if self.budget.amount is None:
            raise PanelError("set a budget before running (credits or dollars)")
        if not self.can_run:
            raise PanelError("the estimate shown is not for what would run: refresh it first")
        if self.needs_confirmation() and not confirmed:
            raise PanelError(
                f"this run could spend more than ${self.confirm_above_usd:,.2f}: confirm it"
            )
        assert self.loaded is not None
        self._show_confirm(False)
        self._clear_result()
        self.runner.start(self.plan.waterfall(), self.loaded, self._run_options())

    def run_batch(self, *, timeout: float | None = None) -> WaterfallResult:
        """Run now and wait (a notebook's batch route): its parameters are the confirmation.

        Raises:
            PanelError: as :meth:`run`, or the run failed (with the engine's message).
        """
        self.run(confirmed=True)
        self.runner.wait(timeout)
        if self.runner.result is None or self.runner.state == "failed":
            raise PanelError(f"the run failed: {self.runner.error}")
        return self.runner.result

    def cancel(self) -> None:
        """Stop the run at its next safe point (what Cancel does)."""
        self.runner.cancel()

    def resume(self) -> None:
        """Continue the last run (same list and steps) with the budget now set."""
        if not self.runner.can_resume:
            raise PanelError(
                "nothing to resume: a run must have stopped with rows left, on a ledger"
            )
        self._clear_result()
        self.runner.resume(**self.budget.run_options())

    @property
    def result(self) -> WaterfallResult | None:
        return self.runner.result

    def _clicked_run(self) -> None:
        try:
            if self.needs_confirmation():
                self._show_confirm(True)
                return
            self.run()
        except GtmkitError as exc:
            self._message(str(exc), error=True)

    def _confirmed(self) -> None:
        try:
            self.run(confirmed=True)
        except GtmkitError as exc:
            self._message(str(exc), error=True)

    def _clicked_resume(self) -> None:
        try:
            self.resume()
        except GtmkitError as exc:
            self._message(str(exc), error=True)

    def _show_confirm(self, show: bool) -> None:
        self._confirming = show
        if not hasattr(self, "confirm_box"):
            return
        if show and self.table is not None:
            summary = summarize(self.table, self.budget, self.plan.waterfall())
            simulated = (
                " (sandbox: simulated, nothing real is spent)" if self.mode == "sandbox" else ""
            )
            self.confirm_text.value = (
                f"<b>This run could spend up to ${summary.ceiling_usd:,.2f}</b>{simulated} — "
                f"expected ${summary.cost_usd:,.2f}, budget {escape(self.budget.describe())}. "
                "Run it?"
            )
        self.confirm_box.layout.display = "flex" if show else "none"
        self._sync_buttons()

    def _progressed(self, snapshot: RunProgress) -> None:
        self.progress_bar.max = max(1, snapshot.rows_total)
        self.progress_bar.value = snapshot.rows_done
        self.progress_text.value = escape(progress_line(snapshot, budget=self.budget.describe()))
        rows = "".join(
            f"<tr><td>{escape(name)}</td><td>{int(v.get('calls', 0)):,}</td>"
            f"<td>{int(v.get('hits', 0)):,}</td><td>{v.get('credits', 0.0):g}</td></tr>"
            for name, v in snapshot.by_provider.items()
        )
        self.providers_view.value = (
            "<table class='gtmkit-providers'><tr><th>provider</th><th>calls</th><th>hits</th>"
            f"<th>credits</th></tr>{rows}</table>"
            if rows
            else ""
        )

    def _run_state(self, state: RunState) -> None:
        if state in ("finished", "cancelled") and self.runner.result is not None:
            result = self.runner.result
            t = result.totals
            self.preview.value = preview_html(result.records, limit=self.preview_rows)
            self.downloads.basename = (
                f"{Path(self.source.name).stem}.enriched" if self.source else "enriched"
            )
            self.downloads.enabled = True
            self.downloads.note = f"{counted(result.records.height, 'row')} ready."
            what = "Cancelled at a safe point" if state == "cancelled" else "Finished"
            left = int(t.get("stopped", 0)) + int(t.get("budget_exhausted", 0))
            more = (
                f"; {counted(left, 'row')} left — Resume continues {plural(left, 'it', 'them')}"
                if left and self.ledger
                else ""
            )
            spent = float(t.get("credits", 0.0))
            credits = counted(spent, "credit", number=f"{spent:g}")
            self._message(
                f"{what}: {t.get('enriched', 0):,} of {counted(t.get('rows', 0), 'row')} "
                "enriched, "
                f"{credits} (${t.get('cost_usd', 0.0):,.2f}); every call "
                f"is in the ledger{more}."
            )
            self.refresh_estimate()  # the ledger now has history to estimate from
        elif state == "failed":
            self._message(f"The run failed: {self.runner.error}", error=True)
        elif state == "running":
            self._message("Running…")
        elif state == "cancelling":
            self._message("Cancelling: calls in flight finish and are booked…")
        self._sync_buttons()

    def _message(self, text: str, *, error: bool = False) -> None:
        colour = "#b42318" if error else "#344054"
        self.run_message.value = (
            f"<div class='gtmkit-run-status' data-state='{self.runner.state}' "
            f"style='color:{colour}'>{escape(text)}</div>"
        )

    def _sync_buttons(self) -> None:
        if not hasattr(self, "run_button"):
            return
        busy = self.runner.busy
        self.run_button.disabled = not self.can_run or self._confirming
        self.cancel_button.disabled = self.runner.state != "running"
        # a disabled button must not look pressable
        self.run_button.button_style = "" if self.run_button.disabled else "success"
        self.cancel_button.button_style = "" if self.cancel_button.disabled else "danger"
        self.resume_button.disabled = busy or not self.runner.can_resume

    def _clear_result(self) -> None:
        if not hasattr(self, "preview"):
            return
        self.preview.value = ""
        self.downloads.enabled = False
        self.progress_bar.value = 0
        self.progress_text.value = ""
        self.providers_view.value = ""

    def _download_frame(self) -> pl.DataFrame | None:
        result = self.runner.result
        return None if result is None or self.runner.busy else result.records

    def close(self) -> None:
        """Cancel a run, close the widgets and delete uploaded files."""
        self.runner.cancel()
        self.upload.close()
        self.widget.close()


def _step(name: str) -> Any:
    from gtmkit.waterfall import Step

    return Step(name)
