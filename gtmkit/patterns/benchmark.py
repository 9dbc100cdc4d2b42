"""Documented against measured: the check table, the benchmark record, and maturity rules.

**Check.** One row per documented figure — per step hit rate and cost per contact, coverage,
the manual share, average cost per record, speed (rows per minute, wall time) and quality
(accuracy, verified share). Each row has the documented value, the measured value with ``n``
and its 95 % interval, and a verdict:

* ``consistent`` — the documented value lies inside the measured 95 % interval;
* ``better`` / ``worse`` — it lies outside, and the measurement is better / worse than
  documented (higher is better for shares and speed; lower for costs, wall time and the
  manual share);
* ``not documented`` — the entry gives no figure to check;
* ``not measured`` — the entry gives one but this measurement cannot tell (accuracy without a
  truth frame, speed from a comparison).

A step's documented "70% hit rate" is read as its *incremental share of the whole list*: the
seed's 70 + 20 + 8 + 2 = 100 matches its 98 % coverage plus 2 % left to manual research. Where a
figure has no interval (speed from one run) the verdict compares the values themselves.

**Benchmark.** What one measurement writes back: date, simulated/live, engagement, dataset
fingerprint, rows, the providers that ran (and which steps were substituted), and the check
rows. Its ``id`` is a hash of all that, so recording the same measurement twice is a no-op.

**Maturity** (the seed's levels) moves only up, only by *live* engagements, counted distinct:
2–3 → Proven, 5 or more → Battle-Tested. A simulated run never promotes; Signature is given by
a person, never by gtmkit.

Example:
    >>> verdict(0.70, 0.54, 0.48, 0.60, higher_is_better=True)
    'worse'
    >>> verdict(0.50, 0.05, 0.05, 0.05, higher_is_better=False)
    'better'
    >>> earned_maturity(["acme", "globex", "acme"]), next_maturity("Battle-Tested", [])
    ('Proven', 'Battle-Tested')
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date as iso_date
from typing import Any, Literal

import polars as pl

from gtmkit.patterns.errors import PatternError
from gtmkit.patterns.measure import Estimate, Measurement
from gtmkit.patterns.sequence import DocumentedStep

Source = Literal["simulated", "live"]
Verdict = Literal["consistent", "better", "worse", "not documented", "not measured"]

LEVELS: tuple[str, ...] = ("Experimental", "Proven", "Battle-Tested", "Signature")
LEVEL_EMOJI: dict[str, str] = {
    "Experimental": "🔬",
    "Proven": "✅",
    "Battle-Tested": "💎",
    "Signature": "🏆",
}
#: Distinct live engagements that earn a level (Signature is never earned automatically).
PROMOTION: tuple[tuple[int, str], ...] = ((5, "Battle-Tested"), (2, "Proven"))

#: Columns of the table :meth:`Pattern.check` returns.
CHECK_COLUMNS: dict[str, Any] = {
    "figure": pl.String,
    "label": pl.String,
    "step": pl.Int64,
    "provider": pl.String,
    "documented": pl.Float64,
    "documented_text": pl.String,
    "measured": pl.Float64,
    "n": pl.Int64,
    "low": pl.Float64,
    "high": pl.Float64,
    "unit": pl.String,
    "verdict": pl.String,
    "note": pl.String,
}


def parse_level(value: str | None) -> str | None:
    """The maturity level a header value names ("🔬 Experimental (simulated)" → Experimental)."""
    if value is None:
        return None
    low = re.sub(r"\[[^\]]*\]", "", value).lower()  # the template's "[Experimental/...]"
    for level in ("Battle-Tested", "Signature", "Experimental", "Proven"):
        if level.lower().replace("-", "") in low.replace("-", "").replace(" ", ""):
            return level
    return None


def earned_maturity(live_engagements: Iterable[str]) -> str:
    """The level distinct live engagements earn on their own."""
    count = len(set(live_engagements))
    for needed, level in PROMOTION:
        if count >= needed:
            return level
    return "Experimental"


def next_maturity(current: str, live_engagements: Iterable[str]) -> str:
    """``current`` moved up to what the live engagements earn; never down, never Signature."""
    earned = earned_maturity(live_engagements)
    return max(current, earned, key=LEVELS.index)


def verdict(
    documented: float | None,
    measured: float | None,
    low: float | None,
    high: float | None,
    *,
    higher_is_better: bool,
) -> Verdict:
    """Compare a documented value with a measurement (see the module docstring)."""
    if documented is None:
        return "not documented"
    if measured is None:
        return "not measured"
    eps = 1e-9 * max(1.0, abs(documented))
    if low is not None and high is not None:
        if low - eps <= documented <= high + eps:
            return "consistent"
        above = low > documented
    else:
        if math.isclose(measured, documented, rel_tol=1e-9, abs_tol=1e-12):
            return "consistent"
        above = measured > documented
    return "better" if above == higher_is_better else "worse"


def _round(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.6g}")


def _row(
    figure: str,
    label: str,
    estimate: Estimate,
    documented: float | None,
    *,
    unit: str,
    higher_is_better: bool,
    documented_text: str | None = None,
    step: int | None = None,
    provider: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    return {
        "figure": figure,
        "label": label,
        "step": step,
        "provider": provider,
        "documented": documented,
        "documented_text": documented_text,
        "measured": estimate.value,
        "n": estimate.n,
        "low": estimate.low,
        "high": estimate.high,
        "unit": unit,
        "verdict": verdict(
            documented, estimate.value, estimate.low, estimate.high,
            higher_is_better=higher_is_better,
        ),
        "note": note,
    }  # fmt: skip


def check_rows(
    documented: Mapping[str, float], m: Measurement, *, manual_step: DocumentedStep | None
) -> list[dict[str, Any]]:
    """The check table's rows for one measurement (see the module docstring)."""
    rows = [
        _row("coverage", "Coverage (email at the end)", m.coverage, documented.get("coverage"),
             unit="share", higher_is_better=True,
             note="rows handed to a person count as not covered"),
    ]  # fmt: skip
    manual_doc = documented.get("manual_share")
    if manual_doc is None and manual_step is not None:
        manual_doc = manual_step.hit_rate
    if manual_step is not None or manual_doc is not None:
        rows.append(
            _row("manual_share", "Handed to a person", m.manual_share, manual_doc,
                 unit="share", higher_is_better=False)
        )  # fmt: skip
    speed_note = (
        "one run: no interval; automated steps only (a person's time is not measured)"
        if m.wall_s is not None
        else "a comparison does not time a waterfall"
    )
    rows += [
        _row("avg_cost_usd", "Average cost per record", m.avg_cost,
             documented.get("avg_cost_usd"), unit="usd", higher_is_better=False),
        _row("rows_per_minute", "Speed (rows per minute)", Estimate(m.rows_per_minute, m.rows),
             documented.get("rows_per_minute"), unit="rows/min", higher_is_better=True,
             note=speed_note),
        _row("turnaround_s", "Turnaround (wall time)", Estimate(m.wall_s, m.rows),
             documented.get("turnaround_s"), unit="s", higher_is_better=False, note=speed_note),
        _row("accuracy", "Quality: accuracy (right, current email)", m.accuracy,
             documented.get("accuracy"), unit="share", higher_is_better=True,
             note=None if m.accuracy.value is not None else "needs a truth frame"),
        _row("verified_share", "Quality: verified share", m.verified_share,
             documented.get("verified_share"), unit="share", higher_is_better=True),
    ]  # fmt: skip
    for s in m.steps:
        doc = s.planned.step
        used = s.planned.provider
        note = f"ran as {used} (substituted)" if s.planned.substituted else None
        common: dict[str, Any] = {"step": doc.number, "provider": used, "note": note}
        if s.planned.role == "manual":
            rows.append(
                _row("step_share", f"{doc.label}: share handed off", s.share, doc.hit_rate,
                     unit="share", higher_is_better=False, documented_text=doc.text.strip(),
                     **common)
            )  # fmt: skip
            continue
        if s.planned.role == "finder":
            rows.append(
                _row("step_share", f"{doc.label}: hit rate (share of the list)", s.share,
                     doc.hit_rate, unit="share", higher_is_better=True,
                     documented_text=doc.text.strip(), **common)
            )  # fmt: skip
        per = "per check" if s.planned.role == "verifier" else "per contact found"
        rows.append(
            _row("step_cost_usd", f"{doc.label}: cost {per}", s.cost, doc.cost_usd,
                 unit="usd", higher_is_better=False, documented_text=doc.text.strip(), **common)
        )  # fmt: skip
    return rows


def stored_figure(row: Mapping[str, Any]) -> dict[str, Any]:
    """A check row as the history keeps it: floats to 6 significant digits, no step text."""
    return {
        k: _round(v) if isinstance(v, float) else v
        for k, v in row.items()
        if k != "documented_text"
    }


def check_frame(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """The check rows as a polars frame (columns :data:`CHECK_COLUMNS`)."""
    return pl.DataFrame(
        [{k: r.get(k) for k in CHECK_COLUMNS} for r in rows], schema=CHECK_COLUMNS, orient="row"
    )


@dataclass(frozen=True)
class Benchmark:
    """One recorded measurement (one line of the generated block's history).

    Attributes:
        date: ISO date of the run (its last attempt), or of the recording.
        source: ``simulated`` (the sandbox world) or ``live`` (real providers).
        engagement: the client engagement a live run belongs to.
        dataset: fingerprint of the list (``gtmkit.patterns.dataset_fingerprint``).
        rows: rows the waterfall worked on.
        kind: ``waterfall`` (a run) or ``comparison`` (a replay on a comparison).
        providers: the providers that ran, in order.
        substitutions: ``{"step", "documented", "used"}`` per substituted step.
        figures: the check rows.
        wall_s: wall time of the run, when timed.
        measured_at: UTC time of the run (orders benchmarks of one day); ``None`` when the
            date was pinned.
    """

    date: str
    source: Source
    engagement: str | None
    dataset: str
    rows: int
    kind: str
    providers: tuple[str, ...]
    substitutions: tuple[Mapping[str, Any], ...] = ()
    figures: tuple[Mapping[str, Any], ...] = ()
    wall_s: float | None = None
    measured_at: str | None = None
    id: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", self._digest())

    def _body(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "source": self.source,
            "engagement": self.engagement,
            "dataset": self.dataset,
            "rows": self.rows,
            "kind": self.kind,
            "providers": list(self.providers),
            "substitutions": [dict(s) for s in self.substitutions],
            "figures": [stored_figure(f) for f in self.figures],
            "wall_s": _round(self.wall_s),
            "measured_at": self.measured_at,
        }

    def _digest(self) -> str:
        text = json.dumps(self._body(), sort_keys=True, ensure_ascii=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def to_json(self) -> str:
        """One line of JSON, safe inside an HTML comment (no ``<``, ``>``; ASCII only)."""
        text = json.dumps({"id": self.id, **self._body()}, sort_keys=True, ensure_ascii=True)
        return text.replace("<", "\\u003c").replace(">", "\\u003e")

    @classmethod
    def from_json(cls, text: str, *, path: str | None = None, line: int | None = None) -> Benchmark:
        """Read one history line back.

        Raises:
            PatternError: when the line is not a benchmark (naming the file and line).
        """
        try:
            data = json.loads(text)
            _check_types(data)
            bench = cls(
                date=str(data["date"]),
                source=data["source"],
                engagement=data.get("engagement"),
                dataset=str(data["dataset"]),
                rows=int(data["rows"]),
                kind=str(data.get("kind", "waterfall")),
                providers=tuple(data.get("providers", ())),
                substitutions=tuple(data.get("substitutions", ())),
                figures=tuple(data.get("figures", ())),
                wall_s=data.get("wall_s"),
                measured_at=data.get("measured_at"),
                id=str(data["id"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise PatternError(
                f"the benchmark history line is not readable ({exc}); the generated block is "
                "gtmkit's: restore it from version control rather than editing it",
                path=path,
                line=line,
            ) from None
        if bench.source not in ("simulated", "live"):
            raise PatternError(
                f"benchmark source must be 'simulated' or 'live', got {bench.source!r}",
                path=path,
                line=line,
            )
        return bench

    def figure(self, name: str) -> Mapping[str, Any] | None:
        """The first check row called ``name`` (``coverage``, ``avg_cost_usd``...)."""
        return next((f for f in self.figures if f.get("figure") == name), None)

    def measured(self, name: str) -> float | None:
        """The measured value of figure ``name``."""
        row = self.figure(name)
        return None if row is None else row.get("measured")

    def with_figures(self, figures: Sequence[Mapping[str, Any]]) -> Benchmark:
        return replace(self, figures=tuple(figures), id="")


_NUMBERS = ("documented", "measured", "low", "high")
_INTEGERS = ("n", "step")
_TEXTS = ("figure", "label", "provider", "unit", "verdict", "note")


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _check_types(data: Any) -> None:
    """Raise :class:`PatternError` when a history line's values are not what gtmkit
    writes (a number where a number goes, text where text goes, an ISO date), so a hand-edited
    line is refused with a clear error instead of failing (or injecting markdown) later."""
    if not isinstance(data, dict):
        raise PatternError("a history line is one JSON object")
    iso_date.fromisoformat(data["date"])  # a TypeError or ValueError for anything else
    if not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", str(data["id"])):
        raise PatternError(f"id {data['id']!r} is not a benchmark id")
    if isinstance(data["rows"], bool) or not isinstance(data["rows"], int):
        raise PatternError(f"rows must be a whole number, got {data['rows']!r}")
    if not _is_number(data.get("wall_s")):
        raise PatternError(f"wall_s must be a number, got {data['wall_s']!r}")
    for key in ("engagement", "dataset", "kind", "measured_at"):
        if not (data.get(key) is None or isinstance(data[key], str)):
            raise PatternError(f"{key} must be text, got {data[key]!r}")
    for key in ("providers", "substitutions", "figures"):
        if not isinstance(data.get(key, []), list):
            raise PatternError(f"{key} must be a list, got {data[key]!r}")
    if not all(isinstance(p, str) for p in data.get("providers", [])):
        raise PatternError("providers must be provider names")
    for sub in data.get("substitutions", []):
        if not isinstance(sub, dict) or not all(isinstance(v, str | int) for v in sub.values()):
            raise PatternError(f"a substitution must map names to text, got {sub!r}")
    for row in data.get("figures", []):
        if not isinstance(row, dict):
            raise PatternError(f"a figure must be an object, got {row!r}")
        for key in _NUMBERS:
            if not _is_number(row.get(key)):
                raise PatternError(f"figure {key} must be a number, got {row[key]!r}")
        for key in _INTEGERS:
            value = row.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise PatternError(f"figure {key} must be a whole number, got {value!r}")
        for key in _TEXTS:
            if not (row.get(key) is None or isinstance(row[key], str)):
                raise PatternError(f"figure {key} must be text, got {row[key]!r}")


def live_engagements(history: Iterable[Benchmark]) -> list[str]:
    """Distinct engagements of the live benchmarks, first-seen order."""
    seen: dict[str, None] = {}
    for b in history:
        if b.source == "live" and b.engagement:
            seen.setdefault(b.engagement.strip().lower(), None)
    return list(seen)


def merge_history(*histories: Iterable[Benchmark]) -> tuple[Benchmark, ...]:
    """Every benchmark once (by id), ordered by date, time of the run, then id — the same
    whoever wrote first."""
    by_id: dict[str, Benchmark] = {}
    for history in histories:
        for b in history:
            by_id.setdefault(b.id, b)
    return tuple(sorted(by_id.values(), key=lambda b: (b.date, b.measured_at or "", b.id)))


__all__ = [
    "CHECK_COLUMNS",
    "LEVELS",
    "LEVEL_EMOJI",
    "PROMOTION",
    "Benchmark",
    "Source",
    "Verdict",
    "check_frame",
    "check_rows",
    "earned_maturity",
    "live_engagements",
    "merge_history",
    "next_maturity",
    "parse_level",
    "stored_figure",
    "verdict",
]
