"""``Pattern``: one library entry — read, run as documented, checked, written back.

Example (the seed's enterprise waterfall):
    >>> p = load("patterns/enrichment-waterfalls/enterprise-contact-enrichment.md")
    >>> p.title, p.maturity, p.category
    ('Enterprise Contact Enrichment Waterfall', 'Experimental', 'enrichment-waterfalls')
    >>> [(s.name, s.provider, s.hit_rate) for s in p.sequence]  # doctest: +NORMALIZE_WHITESPACE
    [('Apollo', 'apollo', 0.7), ('ZoomInfo', 'zoominfo', 0.2), ('Hunter.io', 'hunter', 0.08),
     ('Manual LinkedIn', 'manual', 0.02)]
    >>> [s.provider for s in p.to_waterfall().steps]
    ['apollo', 'zoominfo', 'hunter', 'manual']
    >>> # to try the entry on a provider already paid for (benchmarks then say so)
    >>> [s.provider for s in p.to_waterfall(substitute={"zoominfo": "pdl"}).steps]
    ['apollo', 'pdl', 'hunter', 'manual']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import polars as pl

from gtmkit.patterns.benchmark import (
    Benchmark,
    Source,
    check_frame,
    check_rows,
    live_engagements,
    parse_level,
    stored_figure,
)
from gtmkit.patterns.edit import apply_benchmarks, history_of
from gtmkit.patterns.errors import PatternError
from gtmkit.patterns.escape import one_line
from gtmkit.patterns.measure import Measurement, measure_comparison, measure_result
from gtmkit.patterns.parse import Document, Section, decode, parse_document
from gtmkit.patterns.sequence import (
    DocumentedStep,
    PlannedStep,
    StepRole,
    is_step_line,
    parse_documented,
    parse_step_line,
    strip_symbols,
)
from gtmkit.patterns.target import inside_library, write_target
from gtmkit.patterns.write import locked, remove_stale_temps, write_atomic
from gtmkit.providers.aliases import display_name, has_adapter, resolve_alias

#: The library's categories, one folder each under ``patterns/``.
CATEGORIES: tuple[str, ...] = (
    "enrichment-waterfalls",
    "integration-architectures",
    "automation-blueprints",
    "data-source-combinations",
)
#: Categories whose Architecture section is a provider sequence that runs as a waterfall.
RUNNABLE: frozenset[str] = frozenset({"enrichment-waterfalls", "data-source-combinations"})

Category = Literal[
    "enrichment-waterfalls",
    "integration-architectures",
    "automation-blueprints",
    "data-source-combinations",
]

_BULLET = re.compile(r"^\s*[-*+]\s+(?:(?:\*\*|__)([^*_:]+?)\s*:?\s*(?:\*\*|__)\s*:?)?\s*(.*)$")
_EMPHASIS = re.compile(r"\*\*|__|`")
_INDENT = re.compile(r"^[ \t]*")


def _plain(value: str | None) -> str | None:
    if value is None:
        return None
    text = _EMPHASIS.sub("", value).strip()
    return text or None


def _category(doc: Document, path: Path | None) -> str | None:
    declared = doc.field("category")
    if declared:
        slug = re.sub(r"[^a-z]+", "-", strip_symbols(declared).lower()).strip("-")
        for category in CATEGORIES:
            if slug == category or slug.rstrip("s") == category.rstrip("s"):
                return category
        line = doc.fields["category"][1] + 1
        raise PatternError(
            f"unknown category {declared!r}; use one of {', '.join(CATEGORIES)}",
            path=doc.path,
            line=line,
        )
    if path is not None and path.parent.name in CATEGORIES:
        return path.parent.name
    return None


def _first_numbered_list(doc: Document, section: Section) -> list[DocumentedStep]:
    steps: list[DocumentedStep] = []
    indent: int | None = None
    for index, line in doc.body(section):
        if not line.strip() or line.strip().startswith(("```", "~~~")):
            continue
        width = len(_INDENT.match(line).group(0))  # type: ignore[union-attr]
        if is_step_line(line) and (indent is None or width <= indent):
            indent = width if indent is None else indent
            try:
                steps.append(parse_step_line(line, line_number=index + 1))
            except ValueError as exc:
                raise PatternError(str(exc), path=doc.path, line=index + 1) from None
        elif indent is not None and width <= indent:
            break  # the list ended; later numbered lists are prose, not the sequence
    return steps


def _documented(doc: Document) -> dict[str, float]:
    found: dict[str, float] = {}
    # the seed's one-line form ("Performance: 98% contact coverage, $0.68 avg cost, ...")
    for i, raw in enumerate(doc.lines):
        if "erformance" not in raw or raw.lstrip(" \t*_-`")[:12].lower() != "performance:":
            continue
        line = _EMPHASIS.sub("", raw).strip()
        if not (doc.block and doc.block.start <= i < doc.block.end):
            found.update(parse_documented(line.split(":", 1)[1]))
    section = doc.section("performance metrics") or doc.section("performance")
    if section is not None:
        for _, line in doc.body(section):
            match = _BULLET.match(line)
            if match:
                found.update(parse_documented(match.group(2), label=match.group(1)))
    return found


def _role(provider: str) -> StepRole:
    if provider == "manual":
        return "manual"
    if has_adapter(provider):
        from gtmkit.providers import provider_class

        if provider_class(provider).kind == "verifier":
            return "verifier"
    return "finder"


@dataclass
class Pattern:
    """A pattern entry (see ``patterns/README.md`` for the format and how it is used).

    Build one with :func:`load` (from a file), :func:`from_text` or
    :func:`gtmkit.patterns.from_comparison`.

    Attributes:
        document: the parsed text (every byte as read, and where each part is).
        path: the file it was read from (``None`` for an entry not saved yet).
        category: its category (folder name or ``**Category:**`` field).
        sequence: the documented provider steps (empty for non-waterfall entries).
    """

    document: Document
    path: Path | None = None
    category: str | None = None
    sequence: tuple[DocumentedStep, ...] = ()
    _pending: list[Benchmark] = field(default_factory=list, repr=False)
    _documented: dict[str, float] | None = field(default=None, repr=False)
    _history: tuple[Benchmark, ...] | None = field(default=None, repr=False)

    @property
    def history(self) -> tuple[Benchmark, ...]:
        """Every benchmark recorded in the generated block, oldest first."""
        if self._history is None:
            self._history = history_of(self.document)
        return self._history

    def _history_lines(self, *, live_only: bool = False) -> list[tuple[int, str]]:
        block = self.document.block
        lines = list(block.history) if block else []
        return [(i, t) for i, t in lines if '"source": "live"' in t] if live_only else lines

    @property
    def documented(self) -> dict[str, float]:
        """Documented figures from "## Performance Metrics" (``coverage``, ``avg_cost_usd``,
        ``turnaround_s``, ``rows_per_minute``, ``accuracy``, ``verified_share``,
        ``manual_share``); read when first asked, since the index does not need them."""
        if self._documented is None:
            self._documented = _documented(self.document)
        return self._documented

    # -- reading ---------------------------------------------------------------------------
    @classmethod
    def from_document(
        cls,
        doc: Document,
        *,
        path: Path | None = None,
        category: str | None = None,
        read_history: bool = True,
    ) -> Pattern:
        """An entry from a parsed document; ``read_history=False`` leaves the benchmark
        history to be read when first used (the index reads only its last line)."""
        maturity = doc.fields.get("maturity")
        placeholder = maturity is not None and not re.sub(r"\[[^\]]*\]", "", maturity[0]).strip()
        if maturity is not None and not placeholder and parse_level(maturity[0]) is None:
            raise PatternError(
                f"unknown maturity {maturity[0]!r}; use Experimental, Proven, Battle-Tested "
                "or Signature",
                path=doc.path,
                line=maturity[1] + 1,
            )
        category = category or _category(doc, path)
        sequence: tuple[DocumentedStep, ...] = ()
        explicit = doc.section("sequence")
        architecture = doc.section("architecture")
        if explicit is not None:
            sequence = tuple(_first_numbered_list(doc, explicit))
        elif architecture is not None and category in RUNNABLE:
            sequence = tuple(_first_numbered_list(doc, architecture))
        return cls(
            document=doc,
            path=path,
            category=category,
            sequence=sequence,
            _history=history_of(doc) if read_history else None,
        )

    @property
    def title(self) -> str:
        return _plain(self.document.title) or self.document.title

    @property
    def name(self) -> str:
        """The entry's short name: its file name without ``.md``, else a slug of the title."""
        if self.path is not None:
            return self.path.stem
        return re.sub(r"[^a-z0-9]+", "-", strip_symbols(self.title).lower()).strip("-")

    @property
    def maturity(self) -> str:
        """Experimental, Proven, Battle-Tested or Signature (Experimental when not given)."""
        return parse_level(self.document.field("maturity")) or "Experimental"

    @property
    def use_case(self) -> str | None:
        return _plain(self.document.field("use case"))

    @property
    def industry(self) -> str | None:
        return _plain(self.document.field("industry"))

    @property
    def company_stage(self) -> str | None:
        return _plain(self.document.field("company stage"))

    @property
    def sections(self) -> tuple[tuple[str, str], ...]:
        """``(title, body text)`` of every section, in order (generated block left out)."""
        return tuple(
            (s.title, "\n".join(line for _, line in self.document.body(s)).strip("\n"))
            for s in self.document.sections
        )

    def section(self, title: str) -> str | None:
        """The body of the first section with this title (case, emoji, spacing ignored)."""
        key = re.sub(r"\s+", " ", strip_symbols(title).lower()).strip()
        found = self.document.section(key)
        if found is None:
            return None
        return "\n".join(line for _, line in self.document.body(found)).strip("\n")

    @property
    def failure_modes(self) -> tuple[str, ...]:
        """The bullets of "## Failure Modes", as plain text."""
        body = self.section("failure modes") or ""
        items: list[str] = []
        for line in body.splitlines():
            match = _BULLET.match(line)
            if match:
                label = f"{match.group(1).strip()}: " if match.group(1) else ""
                items.append(label + match.group(2))
            elif items and line[:1].isspace() and line.strip():
                items[-1] += " " + line.strip()  # a wrapped bullet continues indented
        return tuple(text for text in (_plain(i) for i in items) if text)

    @property
    def latest(self) -> Benchmark | None:
        """The most recent benchmark (by date), if any."""
        if self._history is None:  # the block's history is kept in order: read the last line
            lines = self._history_lines()
            if not lines:
                return None
            i, text = lines[-1]
            return Benchmark.from_json(text, path=self.document.path, line=i + 1)
        return self._history[-1] if self._history else None

    @property
    def live_engagements(self) -> list[str]:
        """Distinct engagements among the live benchmarks."""
        if self._history is None:
            live = [
                Benchmark.from_json(t, path=self.document.path, line=i + 1)
                for i, t in self._history_lines(live_only=True)
            ]
            return live_engagements(live)
        return live_engagements(self._history)

    @property
    def text(self) -> str:
        """The entry's text, with benchmarks recorded but not yet saved applied."""
        return self.document.text()

    def __repr__(self) -> str:
        steps = " → ".join(s.name for s in self.sequence) or "no sequence"
        return (
            f"Pattern({self.title!r}, {self.maturity}, {self.category or 'no category'}: "
            f"{steps}; {len(self.history)} benchmark(s))"
        )

    # -- running as documented --------------------------------------------------------------
    def plan(
        self, *, substitute: Mapping[str, str] | None = None, available: Iterable[str] = ()
    ) -> tuple[PlannedStep, ...]:
        """Which provider runs each documented step (see :meth:`to_waterfall`).

        ``available``: provider names that can answer besides the registered adapters (the
        providers of a comparison, which may include adapters registered elsewhere).
        """
        where = self.document.path
        if not self.sequence:
            what = f"category {self.category}" if self.category else "no category"
            raise PatternError(
                f"{self.title!r} ({what}) documents no provider sequence to run; only "
                "enrichment waterfalls and data-source combinations with numbered steps under "
                "'## Architecture' (or '## Sequence') run as waterfalls",
                path=where,
            )
        subs = _substitutions(substitute, path=where)
        from gtmkit.providers import PROVIDERS

        known = ", ".join(PROVIDERS)
        extra = {name.lower(): name for name in available}
        planned: list[PlannedStep] = []
        for position, step in enumerate(self.sequence):
            if step.provider is None and step.name.strip().lower() in extra:
                step = replace(step, provider=extra[step.name.strip().lower()])
            if step.provider is None:
                raise PatternError(
                    f"step {step.number} {step.name!r} names a provider gtmkit does not know; "
                    f"known providers: {known} (other names it understands are in "
                    "gtmkit/providers/aliases.py)",
                    path=where,
                    line=step.line or None,
                )
            used = subs.get(step.provider, step.provider)
            if not has_adapter(used) and used not in extra.values():
                raise PatternError(
                    f"step {step.number} {step.name!r}: gtmkit has no "
                    f"{display_name(step.provider)} adapter yet; known providers: {known}. To "
                    f"run the entry anyway, substitute one, e.g. "
                    f"to_waterfall(substitute={{{step.provider!r}: 'pdl'}}): every benchmark "
                    "written from that run then says which step was substituted",
                    path=where,
                    line=step.line or None,
                )
            planned.append(PlannedStep(position, step, used, _role(used)))
        _check_plan(planned, where)
        return tuple(planned)

    def to_waterfall(self, *, substitute: Mapping[str, str] | None = None) -> Any:
        """A runnable ``gtmkit.Waterfall`` that does what the entry documents, in its order.

        A manual step becomes a hand-off (``Step("manual", label=...)``): rows still missing
        an email there end with status ``manual`` and a reason, and
        ``result.manual_tasks()`` lists them. A verifier step ("Hunter verifier") becomes the
        waterfall's ``verify=``, and the step before it only stops on a *verified* email.

        Args:
            substitute: ``{documented provider: provider to run instead}`` for steps gtmkit
                has no adapter for (``{"zoominfo": "pdl"}``); names may be written as in the
                entry ("ZoomInfo"). Benchmarks recorded from such a run say so.

        Raises:
            PatternError: a step names an unknown provider, or one without an adapter and no
                substitute — naming the step, its line and the known providers.
        """
        from gtmkit.waterfall import SpecError, Step, Waterfall

        steps: list[Any] = []
        verify = None
        for p in self.plan(substitute=substitute):
            if p.role == "verifier":
                verify = p.provider
                if steps:
                    steps[-1] = replace(steps[-1], stop="first_verified")
            elif p.role == "manual":
                steps.append(Step("manual", label=p.step.name))
            else:
                steps.append(Step(p.provider, label=p.step.label))
        try:
            return Waterfall(steps, verify=verify, name=self.title)
        except SpecError as exc:
            raise PatternError(
                f"the documented sequence does not make a valid waterfall: {exc}",
                path=self.document.path,
            ) from None

    def run(
        self, records: Any, *, substitute: Mapping[str, str] | None = None, **options: Any
    ) -> Any:
        """Run :meth:`to_waterfall` on ``records`` (options as ``Waterfall.run``)."""
        return self.to_waterfall(substitute=substitute).run(records, **options)

    # -- measuring ----------------------------------------------------------------------------
    def _plan_from_result(self, result: Any) -> tuple[PlannedStep, ...]:
        ran = result.summary["provider"].to_list()
        if len(ran) != len(self.sequence):
            documented = ", ".join(s.name for s in self.sequence) or "none"
            raise PatternError(
                f"this result ran {len(ran)} step(s) ({', '.join(ran)}) but {self.title!r} "
                f"documents {len(self.sequence)} ({documented}); measure a run of "
                "pattern.to_waterfall()",
                path=self.document.path,
            )
        # the engine reports the verifier last, wherever the entry documents it
        in_order = [s for s in self.sequence if _role(s.provider or "") != "verifier"]
        in_order += [s for s in self.sequence if _role(s.provider or "") == "verifier"]
        planned = {}
        for step, provider in zip(in_order, ran, strict=True):
            position = self.sequence.index(step)
            planned[position] = PlannedStep(position, step, provider, _role(provider))
        return tuple(planned[i] for i in sorted(planned))

    def measure(
        self,
        result_or_comparison: Any,
        *,
        truth: pl.DataFrame | None = None,
        substitute: Mapping[str, str] | None = None,
    ) -> Measurement:
        """What a run of this entry (a ``WaterfallResult``) or a ``Comparison`` measured.

        A comparison is replayed in the documented order (``substitute`` as in
        :meth:`to_waterfall`). See ``gtmkit.patterns.measure`` for every figure.
        """
        x = result_or_comparison
        if hasattr(x, "observations") and hasattr(x, "pattern"):
            plan = self.plan(substitute=substitute, available=x.providers)
            return measure_comparison(x, plan, truth=truth)
        if hasattr(x, "summary") and hasattr(x, "records"):
            return measure_result(x, _summary_order(self._plan_from_result(x)), truth=truth)
        raise PatternError(
            f"expected a WaterfallResult or a Comparison, got {type(x).__name__}",
            path=self.document.path,
        )

    def _manual_step(self) -> DocumentedStep | None:
        return next((s for s in self.sequence if s.provider == "manual"), None)

    def check(
        self,
        result_or_comparison: Any,
        *,
        truth: pl.DataFrame | None = None,
        substitute: Mapping[str, str] | None = None,
    ) -> pl.DataFrame:
        """Documented against measured: one row per documented figure.

        Rows: coverage, the share handed to a person, average cost per record, speed (rows
        per minute and wall time), quality (accuracy — needs ``truth`` — and verified share),
        then per step its hit rate and cost per contact. Columns: ``figure``, ``label``,
        ``step``, ``provider``, ``documented``, ``documented_text``, ``measured``, ``n``,
        ``low``/``high`` (95 % interval), ``unit``, ``verdict``, ``note``.

        A step's documented hit rate ("70% hit rate") is read as its *incremental share of the
        whole list* and compared with ``summary.incremental_coverage``: the seed's 70 + 20 + 8
        + 2 = 100 matches its 98 % coverage plus 2 % left to manual research. Coverage is the
        share of rows with an email at the end; rows handed to a person count as not covered.

        Verdicts: ``consistent`` (the documented value is inside the 95 % interval),
        ``better`` / ``worse`` (outside it, in that direction), ``not documented``, and
        ``not measured`` (documented, but this measurement cannot tell).

        Args:
            result_or_comparison: a ``WaterfallResult`` of :meth:`to_waterfall`, or a
                ``Comparison`` (the documented order is replayed on its outcomes).
            truth: ``row_id, true_email`` (a sample's ``.truth.csv``, ``World.truth(...)``)
                for accuracy.
            substitute: as in :meth:`to_waterfall` (for a comparison).
        """
        m = self.measure(result_or_comparison, truth=truth, substitute=substitute)
        return check_frame(check_rows(self.documented, m, manual_step=self._manual_step()))

    # -- writing back ---------------------------------------------------------------------------
    def record_benchmark(
        self,
        result_or_comparison: Any,
        *,
        source: Source = "simulated",
        engagement: str | None = None,
        truth: pl.DataFrame | None = None,
        substitute: Mapping[str, str] | None = None,
        measured_on: str | None = None,
    ) -> Benchmark:
        """Measure, and put the benchmark in this entry's text (:meth:`save` writes it).

        The generated block under "## Performance Metrics" is re-rendered from the history
        with this benchmark added, one Version History line is appended, and Maturity moves
        by the seed's rules (distinct *live* engagements: 2–3 → Proven, 5+ → Battle-Tested;
        a simulated run never promotes; never down; Signature only by a person). Recording a
        benchmark already in the history changes nothing.

        Args:
            result_or_comparison: as in :meth:`check`.
            source: ``"simulated"`` (the sandbox world) or ``"live"`` (real providers).
            engagement: the client engagement of a live run (required for ``live``: maturity
                counts distinct engagements).
            truth: as in :meth:`check`.
            substitute: as in :meth:`to_waterfall` (for a comparison).
            measured_on: ISO date of the measurement; default the run's own date (its last
                attempt). Pin it only to regenerate a deterministic measurement byte for byte.

        Returns:
            The benchmark (its ``id`` is in the Version History line).
        """
        if source not in ("simulated", "live"):
            raise PatternError(f"source must be 'simulated' or 'live', got {source!r}")
        one_line(engagement, "engagement", path=self.document.path)
        if source == "live" and not (engagement and engagement.strip()):
            raise PatternError(
                "a live benchmark needs engagement='<client or project>': maturity counts "
                "distinct live engagements"
            )
        x = result_or_comparison
        _check_source(x, source, path=self.document.path)
        m = self.measure(x, truth=truth, substitute=substitute)
        if measured_on is not None:
            try:
                measured_on = date.fromisoformat(measured_on).isoformat()
            except (TypeError, ValueError):
                raise PatternError(
                    f"measured_on must be an ISO date, got {measured_on!r}"
                ) from None
        bench = Benchmark(
            date=measured_on or m.measured_at.date().isoformat(),
            source=source,
            engagement=engagement.strip() if engagement else None,
            dataset=m.dataset,
            rows=m.rows,
            kind=m.kind,
            providers=tuple(s.planned.provider for s in m.steps),
            substitutions=tuple(
                {"step": s.planned.step.number, "documented": s.planned.step.name,
                 "used": s.planned.provider}
                for s in m.steps
                if s.planned.substituted
            ),
            figures=tuple(
                stored_figure(row)
                for row in check_rows(self.documented, m, manual_step=self._manual_step())
            ),
            wall_s=m.wall_s,
            # a pinned date pins the whole record (a regenerated entry stays byte-identical)
            measured_at=None if measured_on else m.measured_at.isoformat(timespec="seconds"),
        )  # fmt: skip
        if bench.id not in {b.id for b in self.history}:
            self._pending.append(bench)
            self._replace_document(apply_benchmarks(self.document, [bench]))
        return bench

    def _replace_document(self, text: str) -> None:
        doc = parse_document(text, bom=self.document.bom, path=self.document.path)
        fresh = Pattern.from_document(doc, path=self.path, category=self.category)
        self.document, self.category, self.sequence = doc, fresh.category, fresh.sequence
        self._history, self._documented = fresh.history, None

    def to_bytes(self) -> bytes:
        """The entry's bytes as :meth:`save` would write them to a new file."""
        return self.document.to_bytes()

    def save(self, path: str | Path | None = None) -> bool:
        """Write the entry; returns whether the file changed.

        Saving to the file the entry was loaded from re-reads it under an advisory lock and
        merges the benchmarks recorded since into what is there now, so two write-backs to one
        file both land, and a person's edits made meanwhile are kept. Saving elsewhere (or an
        entry made by ``from_comparison``) writes this entry's text. Either way the write is
        atomic: a crash leaves the old file or the new one.

        Raises:
            PatternError: no path to save to, a path that is not an entry file, climbs with
                ``..`` or is a symlink out of the library (``gtmkit.patterns.target``), the
                file on disk is malformed, or the disk refuses the write (nothing is written
                then: the old file stays as it was).
        """
        given = Path(path) if path is not None else self.path
        if given is None:
            raise PatternError(
                f"{self.title!r} has no file yet: save(path='patterns/<category>/<name>.md')"
            )
        target = write_target(given)  # the real file: one lock for every name of it
        try:
            with locked(target):
                merging = self.path is not None and target.exists() and _same(target, self.path)
                if merging:
                    current = load(target)
                    text = apply_benchmarks(current.document, [*current.history, *self._pending])
                    doc = parse_document(text, bom=current.document.bom, path=str(target))
                    data = doc.to_bytes()
                else:
                    data = self.to_bytes()
                old = target.read_bytes() if target.exists() else None
                changed = data != old
                if changed:
                    remove_stale_temps(target)
                    write_atomic(target, data)
        except OSError as exc:  # read-only folder, full disk, quota: the old file is intact
            if not target.parent.is_dir():
                raise PatternError(
                    f"the folder {target.parent} does not exist; create it (an entry is "
                    "patterns/<category>/<name>.md) and save again",
                    path=given,
                ) from None
            raise PatternError(
                f"could not write the entry ({exc.strerror or exc}); the file is unchanged — "
                "free disk space or make the folder writable, then save again",
                path=given,
            ) from None
        self._pending.clear()
        self.path = given
        self._replace_document(
            data.decode("utf-8-sig") if data[:3] == b"\xef\xbb\xbf" else data.decode()
        )
        return changed


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _summary_order(plan: tuple[PlannedStep, ...]) -> tuple[PlannedStep, ...]:
    """The plan in the order the engine's summary lists it (the verifier last)."""
    return tuple(
        [p for p in plan if p.role != "verifier"] + [p for p in plan if p.role == "verifier"]
    )


def _substitutions(substitute: Mapping[str, str] | None, *, path: str | None) -> dict[str, str]:
    if not substitute:
        return {}
    if not isinstance(substitute, Mapping):
        raise PatternError("substitute must be a mapping like {'zoominfo': 'pdl'}", path=path)
    out = {}
    for documented, used in substitute.items():
        key = resolve_alias(str(documented)) or str(documented).strip().lower()
        target = resolve_alias(str(used)) or str(used).strip().lower()
        if not has_adapter(target):
            from gtmkit.providers import PROVIDERS

            raise PatternError(
                f"substitute[{documented!r}] = {used!r} is not a provider gtmkit can run; "
                f"known providers: {', '.join(PROVIDERS)}",
                path=path,
            )
        out[key] = target
    return out


def _check_plan(planned: list[PlannedStep], where: str | None) -> None:
    for p in planned[:-1]:
        if p.role == "manual":
            raise PatternError(
                f"step {p.step.number} {p.step.name!r} hands rows to a person, so no step can "
                "come after it; make the manual step the last one",
                path=where,
                line=p.step.line or None,
            )
    verifiers = [p for p in planned if p.role == "verifier"]
    if len(verifiers) > 1:
        raise PatternError(
            "more than one verifier step; a waterfall verifies with one verifier",
            path=where,
            line=verifiers[1].step.line or None,
        )
    if verifiers and verifiers[0].position == 0:
        raise PatternError(
            f"step 1 {verifiers[0].step.name!r} verifies emails, but no step before it finds "
            "any; put a finder (or the pattern guess) first",
            path=where,
            line=verifiers[0].step.line or None,
        )
    seen: dict[str, PlannedStep] = {}
    for p in planned:
        if p.provider in seen:
            first = seen[p.provider]
            raise PatternError(
                f"steps {first.step.number} and {p.step.number} both run {p.provider}"
                + (" (after substitution)" if p.substituted or first.substituted else "")
                + "; a waterfall calls each provider once — substitute another provider",
                path=where,
                line=p.step.line or None,
            )
        seen[p.provider] = p


def from_text(
    text: str | bytes, *, path: str | Path | None = None, category: Category | None = None
) -> Pattern:
    """A ``Pattern`` from markdown text (``path`` only names it in messages and sets the
    category from its folder; nothing is read from disk).

    Raises:
        PatternError: the text is not a readable entry (naming the line).
    """
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    decoded, bom = decode(data, path=path)
    doc = parse_document(decoded, bom=bom, path=path)
    return Pattern.from_document(
        doc, path=Path(path) if path is not None else None, category=category
    )


def load(path: str | Path) -> Pattern:
    """Read one entry.

    Raises:
        PatternError: the file is missing or malformed (naming the file and line).
    """
    path = Path(path)
    try:
        data = inside_library(path, verb="read").read_bytes()
    except FileNotFoundError:
        raise PatternError("no such pattern file", path=path) from None
    except IsADirectoryError:
        raise PatternError("is a folder; load one entry's .md file", path=path) from None
    return from_text(data, path=path)


__all__ = ["CATEGORIES", "RUNNABLE", "Category", "Pattern", "from_text", "load"]


def _check_source(result: Any, source: str, *, path: str | Path | None) -> None:
    """A run's own record of where its providers answered from must agree with ``source``: a
    live run is never filed as simulated (nor the other way round), since maturity counts
    live engagements only."""
    totals = getattr(result, "totals", None)
    modes = totals.get("modes") if isinstance(totals, dict) else None
    if not modes:
        return  # a comparison, or a result from before modes were recorded: the caller's word
    live = sorted(n for n, mode in modes.items() if mode == "live")
    simulated = sorted(n for n, mode in modes.items() if mode == "sandbox")
    if source == "simulated" and live:
        raise PatternError(
            f"this run called {', '.join(live)} live: record it with source='live' and the "
            "engagement's name",
            path=path,
        )
    if source == "live" and simulated and not live:
        raise PatternError(
            f"this run answered from the simulated world ({', '.join(simulated)}): record it "
            "with source='simulated'",
            path=path,
        )
