"""The declarative waterfall spec: ordered :class:`Step` objects, loadable from TOML or YAML.

A spec says *what* to try and in which order; :mod:`gtmkit.waterfall.engine` decides *how*
(concurrency, retries, budget, ledger). Specs are plain frozen dataclasses so they compare,
hash into a run fingerprint and print cleanly in a notebook.

Example:
    >>> from gtmkit.waterfall import Step, Waterfall
    >>> steps = [Step("hunter"), Step("apollo", stop="first_verified")]
    >>> wf = Waterfall(steps, verify="hunter_verifier")
    >>> [s.provider for s in wf.steps]
    ['hunter', 'apollo']
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import polars as pl

from gtmkit.errors import GtmkitError
from gtmkit.waterfall.validate import finite

if TYPE_CHECKING:  # pragma: no cover
    from gtmkit.queue.jobs import RunHandle
    from gtmkit.waterfall.options import RunOptions
    from gtmkit.waterfall.result import WaterfallResult

When = Literal["missing", "always"]
StopRule = Literal["first_hit", "first_verified"]
PhoneStop = Literal["first_any", "first_mobile"]
CatchAllPolicy = Literal["accept", "accept_if_confident", "continue"]
Order = Literal["static", "adaptive"]

_WHEN: tuple[str, ...] = get_args(When)
_STOP: tuple[str, ...] = get_args(StopRule)
_PHONE_STOP: tuple[str, ...] = get_args(PhoneStop)
_CATCH_ALL: tuple[str, ...] = get_args(CatchAllPolicy)
_ORDER: tuple[str, ...] = get_args(Order)


class SpecError(GtmkitError, ValueError):
    """A waterfall spec (in Python or in a file) is not valid; the message says what and where."""


@dataclass(frozen=True)
class Step:
    """One provider in the waterfall.

    Args:
        provider: registered provider name (``gtmkit.providers.PROVIDERS``) or a key of the
            ``providers`` mapping handed to :meth:`Waterfall.run`.
        fills: canonical fields this step may fill (default ``("email",)``). Other fields the
            provider returns are kept in the attempts' ``fields_json`` but not merged.
        when: ``"missing"`` (default): only rows where one of ``fills`` is still missing, or
            whose email is not yet acceptable under the previous step's stop rule;
            ``"always"``: every row; or a polars expression evaluated on the *input* records
            (the step then runs where it is true and the target is still missing).
        stop: ``"first_hit"``: any email found ends the search for the email; or
            ``"first_verified"``: only a verified (``valid``) email does, so an unverified guess
            falls through to the next step.
        catch_all: what a ``catch_all`` email from this step counts as: ``"accept"`` (final),
            ``"accept_if_confident"`` (final when the provider's confidence is at least
            ``min_confidence``) or ``"continue"`` (keep it but try the next steps).
        min_confidence: threshold for ``accept_if_confident`` (0..1).
        label: how reports name the step (``"Apollo (company + title search)"``); for the
            ``manual`` hand-off step, the hand-off's name (``"Manual LinkedIn"``).
        phone_stop: for a step that fills ``phone``: ``"first_any"`` (default) — any number
            ends the search for a phone; ``"first_mobile"`` — only a mobile does, so a direct or
            office line is kept but the next steps are tried for a mobile.
    """

    provider: str
    fills: tuple[str, ...] = ("email",)
    when: When | pl.Expr = "missing"
    stop: StopRule = "first_hit"
    catch_all: CatchAllPolicy = "accept"
    min_confidence: float = 0.8
    label: str | None = None
    phone_stop: PhoneStop = "first_any"

    def __post_init__(self) -> None:
        if not isinstance(self.provider, str) or not self.provider.strip():
            raise SpecError(
                f"Step.provider must be a non-empty provider name, got {self.provider!r}"
            )
        fills = (self.fills,) if isinstance(self.fills, str) else tuple(self.fills)
        if not fills or not all(isinstance(f, str) and f for f in fills):
            raise SpecError(f"Step({self.provider!r}).fills must name at least one field")
        object.__setattr__(self, "fills", fills)
        if not isinstance(self.when, pl.Expr) and self.when not in _WHEN:
            raise SpecError(
                f"Step({self.provider!r}).when must be one of {_WHEN} or a polars expression, "
                f"got {self.when!r}"
            )
        if self.stop not in _STOP:
            raise SpecError(
                f"Step({self.provider!r}).stop must be one of {_STOP}, got {self.stop!r}"
            )
        if self.phone_stop not in _PHONE_STOP:
            raise SpecError(
                f"Step({self.provider!r}).phone_stop must be one of {_PHONE_STOP}, "
                f"got {self.phone_stop!r}"
            )
        if self.catch_all not in _CATCH_ALL:
            raise SpecError(
                f"Step({self.provider!r}).catch_all must be one of {_CATCH_ALL}, "
                f"got {self.catch_all!r}"
            )
        confidence = self.min_confidence
        if isinstance(confidence, bool) or not isinstance(confidence, int | float):
            raise SpecError(f"Step({self.provider!r}).min_confidence must be a number in 0..1")
        if not 0.0 <= float(confidence) <= 1.0:
            raise SpecError(f"Step({self.provider!r}).min_confidence must be within 0..1")

    def describe(self) -> dict[str, Any]:
        """A JSON-able description (used for the run fingerprint and for display)."""
        when = (
            self.when
            if isinstance(self.when, str)
            else f"expr:{self.when.meta.serialize(format='json')}"
        )
        return {
            "provider": self.provider,
            "fills": list(self.fills),
            "when": when,
            "stop": self.stop,
            "catch_all": self.catch_all,
            "min_confidence": self.min_confidence,
            "label": self.label,
            # only where it matters, so email-only specs keep their fingerprint
            **({"phone_stop": self.phone_stop} if "phone" in self.fills else {}),
        }


@dataclass(frozen=True)
class Waterfall:
    """An ordered set of provider steps, with optional verification and per-segment routing.

    Args:
        steps: the steps in default order.
        verify: name of a verifier provider (e.g. ``"hunter_verifier"``) run after any step
            that produced an unverified (``risky``/``unknown``) email.
        route_by: ``{column: {segment value: [provider, ...]}}`` — rows whose ``column`` equals
            a segment value try only those providers, in that order; other rows use ``steps``.
        prices: ``{provider: usd_per_credit}``, overriding the adapters' list prices.
        name: a label for reports.
        order: ``"static"`` (default): every row tries the steps in the order given (or its
            ``route_by`` order); ``"adaptive"``: the order of the email steps is chosen per
            segment as rows complete, by Thompson sampling over what the run (and the ledger's
            history) has learned — every row's order and why is recorded in the ledger
            (:mod:`gtmkit.waterfall.adaptive`). Deterministic under the run's ``seed``.
        segment_by: with ``order="adaptive"``: the column (or columns) whose values are the
            segments an order is learned for (``"employee_band"``); ``None``: one segment.

    Example:
        >>> wf = Waterfall(
        ...     [Step("hunter"), Step("apollo"), Step("pdl")],
        ...     route_by={"employee_band": {"1-10": ["hunter", "pdl"]}},
        ... )
        >>> wf.order_for({"employee_band": "1-10"})
        [0, 2]
    """

    steps: Sequence[Step]
    verify: str | None = None
    route_by: Mapping[str, Mapping[str, Sequence[str]]] | None = None
    prices: Mapping[str, float] | None = None
    name: str = "waterfall"
    order: Order = "static"
    segment_by: str | Sequence[str] | None = None
    _route_column: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        steps = tuple(self.steps)
        if not steps:
            raise SpecError("a Waterfall needs at least one Step")
        for i, step in enumerate(steps):
            if not isinstance(step, Step):
                raise SpecError(f"steps[{i}] must be a Step, got {type(step).__name__}")
        names = [s.provider for s in steps]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SpecError(f"provider(s) {dupes} appear in more than one step")
        object.__setattr__(self, "steps", steps)
        if self.verify is not None and (not isinstance(self.verify, str) or not self.verify):
            raise SpecError(f"verify must be a provider name or None, got {self.verify!r}")
        if self.route_by is not None:
            if self.order == "adaptive":
                raise SpecError(
                    "route_by fixes each segment's order and order='adaptive' learns it: "
                    "pass one (segment_by= names the column adaptive orders are learned for)"
                )
            if not isinstance(self.route_by, Mapping) or len(self.route_by) != 1:
                raise SpecError("route_by must be {column: {segment value: [provider, ...]}}")
            ((column, table),) = self.route_by.items()
            if not isinstance(table, Mapping):
                raise SpecError(f"route_by[{column!r}] must map segment values to provider lists")
            for segment, order in table.items():
                unknown = [p for p in order if p not in names]
                if unknown:
                    raise SpecError(
                        f"route_by[{column!r}][{segment!r}] names {unknown}, which are not steps "
                        f"(steps: {names})"
                    )
            object.__setattr__(self, "_route_column", column)
        if self.prices is not None:
            for provider, price in self.prices.items():
                finite(f"prices[{provider!r}] (dollars per credit)", price, error=SpecError)
        self._check_order()

    def _check_order(self) -> None:
        if self.order not in _ORDER:
            raise SpecError(f"order must be one of {_ORDER}, got {self.order!r}")
        by = self.segment_by
        if by is None:
            return
        columns = (by,) if isinstance(by, str) else tuple(by)
        if not columns or not all(isinstance(c, str) and c for c in columns):
            raise SpecError(f"segment_by must name a column or columns, got {by!r}")
        if self.order != "adaptive":
            raise SpecError(
                "segment_by only applies to order='adaptive' (the segments it learns an order "
                "for); for fixed per-segment orders use route_by"
            )
        object.__setattr__(self, "segment_by", columns)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Waterfall:
        """Build a spec from a mapping shaped like the TOML/YAML file (see :meth:`from_file`)."""
        from gtmkit.waterfall.spec_files import waterfall_from_dict

        return waterfall_from_dict(data)

    @classmethod
    def from_file(cls, path: str | Path) -> Waterfall:
        """Load a spec from ``.toml`` or ``.yaml``/``.yml`` (the shape is described in
        :mod:`gtmkit.waterfall.spec_files`)."""
        from gtmkit.waterfall.spec_files import waterfall_from_file

        return waterfall_from_file(path)

    @property
    def providers(self) -> tuple[str, ...]:
        """Every provider the spec may call (steps, then the verifier)."""
        names = tuple(s.provider for s in self.steps)
        return (*names, self.verify) if self.verify else names

    def order_for(self, row: Mapping[str, Any]) -> list[int]:
        """Step indices a row goes through, honouring ``route_by``."""
        if self._route_column is not None and self.route_by is not None:
            table = self.route_by[self._route_column]
            segment = row.get(self._route_column)
            if segment is not None and str(segment) in table:
                index = {s.provider: i for i, s in enumerate(self.steps)}
                return [index[p] for p in table[str(segment)]]
        return list(range(len(self.steps)))

    def fingerprint(self) -> str:
        """Stable hash of the spec (part of the run identity used for resume)."""
        body = {
            # a step's label only names it in reports: renaming one must not break a resume
            "steps": [{k: v for k, v in s.describe().items() if k != "label"} for s in self.steps],
            "verify": self.verify,
            "route_by": {
                k: {s: list(v) for s, v in t.items()} for k, t in (self.route_by or {}).items()
            },
            # only when adaptive, so static specs keep their fingerprint (and their resumes)
            **(
                {"order": "adaptive", "segment_by": list(self.segment_by or ())}
                if self.order == "adaptive"
                else {}
            ),
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    # -- running (implemented in engine.py; thin wrappers keep the spec the entry point) -----
    def estimate(self, records: Any, **options: Any) -> pl.DataFrame:
        """Expected calls, credits and dollars per step before running, each step saying what
        its hit rate rests on (``history=`` a ledger, a comparison or a pattern). See
        :func:`gtmkit.waterfall.estimate.estimate`."""
        from gtmkit.waterfall.estimate import estimate

        return estimate(self, records, **options)

    def run(
        self, records: Any, options: RunOptions | None = None, **kwargs: Any
    ) -> WaterfallResult:
        """Run the waterfall over a list and return a
        :class:`~gtmkit.waterfall.result.WaterfallResult`.

        ``options`` is a :class:`~gtmkit.waterfall.options.RunOptions`; keyword arguments
        (``budget_credits=200``, ``ledger=...``) override its fields, and an unknown name is
        refused with the list of known ones. The same call works from a script and inside a
        Jupyter kernel (whose event loop is already running: the run then happens on a worker
        thread with its own loop).

        Example:
            >>> from gtmkit.waterfall import Step, Waterfall
            >>> wf = Waterfall([Step("hunter"), Step("apollo")], verify="hunter_verifier")
            >>> # res = wf.run(gtmkit.load_list("leads.csv"), budget_credits=500)
            >>> # res.records, res.attempts, res.summary, res.totals
        """
        from gtmkit.waterfall.options import RunOptions
        from gtmkit.waterfall.run import run_waterfall
        from gtmkit.waterfall.sync import run_sync

        chosen = RunOptions.build(options, **kwargs)
        return run_sync(run_waterfall(self, records, chosen))

    def enqueue(self, records: Any, *, redis_url: str, **options: Any) -> RunHandle:
        """Queue the run for ``gtmkit worker`` processes on Redis (the queue tier; needs the
        ``queue`` extra) and return its handle. See :func:`gtmkit.queue.enqueue`."""
        from gtmkit.queue import enqueue

        return enqueue(self, records, redis_url=redis_url, **options)

    async def run_async(
        self, records: Any, options: RunOptions | None = None, **kwargs: Any
    ) -> WaterfallResult:
        """The same as :meth:`run`, for callers already inside an event loop."""
        from gtmkit.waterfall.options import RunOptions
        from gtmkit.waterfall.run import run_waterfall

        return await run_waterfall(self, records, RunOptions.build(options, **kwargs))
