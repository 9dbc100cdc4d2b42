"""Read the figures people write: waterfall step lines and Performance Metrics bullets.

A step line is what the seed writes and what people copy from it::

    1. Apollo (company + title search) → 70% hit rate, $0.50/contact
    2. ZoomInfo -> ~20%, $1.20 per contact
    3. **Hunter.io** (email pattern verification)
    4. Manual LinkedIn (final 2%)

The list marker, emphasis, emoji and extra spaces are ignored; ``→``, ``->``, ``=>`` and ``⟶``
all separate the provider from its figures; a percentage is the step's documented hit rate
(read as its *incremental share of the whole list*, see ``patterns/README.md``), a dollar amount
its cost per contact, and "free" a cost of $0. A percentage in the parenthesis of a step with no
arrow counts too ("final 2%").

Example:
    >>> step = parse_step_line("1. Apollo (company + title search) → 70% hit rate, $0.50/contact")
    >>> step.name, step.note, step.provider, step.hit_rate, step.cost_usd
    ('Apollo', 'company + title search', 'apollo', 0.7, 0.5)
    >>> parse_step_line("4. Manual LinkedIn (final 2%)").provider
    'manual'
    >>> parse_documented("98% contact coverage, $0.68 avg cost, 24hr turnaround")
    {'coverage': 0.98, 'avg_cost_usd': 0.68, 'turnaround_s': 86400.0}
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from gtmkit.patterns.errors import PatternError
from gtmkit.providers.aliases import resolve_alias

_MARKER = re.compile(r"^\s*(\d{1,3})\s*[.)]\s+")
_ARROWS = ("→", "->", "=>", "⟶", "➜", "➡", "—>", "–>")
_PERCENT = re.compile(r"(~|≈|about\s+|approx\.?\s+|around\s+)?(\d+(?:[.,]\d+)?)\s*%")
_DOLLARS = re.compile(
    r"(~|≈|about\s+)?(?:US)?\$\s*(\d+(?:[.,]\d+)?)|(\d+(?:[.,]\d+)?)\s*(?:USD|\$)"
)
_FREE = re.compile(r"\bfree\b|\$\s*0(?:\.0+)?\b|\bno cost\b", re.IGNORECASE)
_DURATION = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*[- ]?\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|hr|h|days?|d)\b",
    re.IGNORECASE,
)
_RATE = re.compile(
    r"(\d[\d,]*(?:\.\d+)?)\s*(?:rows?|records?|contacts?|leads?)?\s*(?:/|per)\s*(min(?:ute)?|hour|hr|h|s(?:ec(?:ond)?)?)\b",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_EMPHASIS = re.compile(r"\*\*|__|`|~~")
_PLACEHOLDER = re.compile(r"\[[^\]]*\]")
_CHUNKS = re.compile(r"(?<!\d),|,(?!\d)|;|\s+and\s+|\s+\+\s+")
_COVERAGE_WORDS = re.compile(r"\bcover|\benrich|\bhit\b|\bmatch|\bfind|\bfound|\bfill")
_NOTE_AT_END = re.compile(r"\(([^()]*)\)\s*$")
_NOTE = re.compile(r"\(([^()]*)\)")


def strip_symbols(text: str) -> str:
    """``text`` without emoji, pictographs, variation selectors and zero-width joiners.

    Example:
        >>> strip_symbols("🔬 Experimental ✅")
        'Experimental'
    """
    if text.isascii():
        return " ".join(text.split())
    kept = [
        ch
        for ch in text
        if unicodedata.category(ch) not in {"So", "Sk", "Cs", "Co", "Cf", "Mn"} or ch.isalnum()
    ]
    return re.sub(r"\s+", " ", "".join(kept)).strip()


def _number(text: str) -> float:
    return float(text.replace(",", "."))


@dataclass(frozen=True)
class DocumentedStep:
    """One step of a documented sequence.

    Attributes:
        number: the number the author wrote ("3." → 3).
        line: 1-based line of the file the step is on (0 when parsed from a bare string).
        text: the line as written (without its line ending).
        name: the provider as the author named it ("Hunter.io").
        note: the parenthesis after the name ("email pattern verification"), if any.
        provider: the provider key the name means (``hunter``, ``zoominfo``...), ``None`` when
            the name is not one gtmkit knows (see ``gtmkit.providers.aliases``).
        hit_rate: the documented hit rate as a share (0.70), ``None`` when not given.
        approximate: the hit rate was written approximately ("~20%").
        cost_usd: documented cost per contact in US dollars (0.0 for "free").
    """

    number: int
    line: int
    text: str
    name: str
    note: str | None
    provider: str | None
    hit_rate: float | None
    approximate: bool
    cost_usd: float | None

    @property
    def manual(self) -> bool:
        """A person-only step (a hand-off, not a provider call)."""
        return self.provider == "manual"

    @property
    def label(self) -> str:
        """How reports name the step: the name, and the note when there is one."""
        return f"{self.name} ({self.note})" if self.note else self.name


def is_step_line(line: str) -> bool:
    """Whether a line starts a numbered list item ("1. ...", "2) ...")."""
    return _MARKER.match(line) is not None


def _split_name(left: str) -> tuple[str, str | None]:
    left = left.strip()
    note = None
    match = _NOTE_AT_END.search(left) or _NOTE.search(left)
    if match:
        note = match.group(1).strip() or None
        left = (left[: match.start()] + left[match.end() :]).strip()
    # "Apollo - company search" / "Apollo: company search" / "Apollo — ..."
    for sep in (" — ", " – ", " - ", ": "):
        if sep in left:
            head, tail = left.split(sep, 1)
            if note is None and tail.strip():
                note = tail.strip()
            left = head
            break
    return strip_symbols(left).strip(" .:;,"), note


def parse_step_line(line: str, *, line_number: int = 0) -> DocumentedStep:
    """Parse one numbered step line (see the module docstring for what it accepts).

    Raises:
        ValueError: when ``line`` is not a numbered list item or names nothing.
    """
    raw = line.rstrip("\r\n")
    match = _MARKER.match(raw)
    if not match:
        raise PatternError(f"not a numbered step: {raw!r}")
    body = _EMPHASIS.sub("", raw[match.end() :]).strip()
    left, right = body, ""
    for arrow in _ARROWS:
        if arrow in body:
            left, right = body.split(arrow, 1)
            break
    name, note = _split_name(left)
    if not name:
        raise PatternError(f"step {match.group(1)} names no provider: {raw!r}")
    figures = right if right.strip() else (note or "")
    percent = _PERCENT.search(figures)
    dollars = _DOLLARS.search(figures)
    if dollars is not None:
        cost: float | None = _number(dollars.group(2) or dollars.group(3))
    elif _FREE.search(body):
        cost = 0.0
    else:
        cost = None
    return DocumentedStep(
        number=int(match.group(1)),
        line=line_number,
        text=raw,
        name=name,
        note=note,
        provider=resolve_alias(name),
        hit_rate=_number(percent.group(2)) / 100.0 if percent else None,
        approximate=bool(percent and percent.group(1)),
        cost_usd=cost,
    )


def _seconds(text: str) -> float | None:
    match = _DURATION.search(text)
    if not match:
        return None
    unit = match.group(2).lower()[0]
    return _number(match.group(1)) * _UNIT_SECONDS[unit]


def _rows_per_minute(text: str) -> float | None:
    match = _RATE.search(text)
    if not match:
        return None
    value = float(match.group(1).replace(",", ""))
    unit = match.group(2).lower()
    if unit.startswith("h"):
        return value / 60.0
    if unit.startswith("s"):
        return value * 60.0
    return value


def _classify(chunk: str) -> str | None:
    low = chunk.lower()
    if "accura" in low or "correct" in low or "right person" in low:
        return "accuracy"
    if "verif" in low or "deliverab" in low or "valid" in low:
        return "verified_share"
    if "manual" in low:
        return "manual_share"
    if _COVERAGE_WORDS.search(low):
        return "coverage"
    if "$" in chunk or "cost" in low or "usd" in low:
        return "avg_cost_usd"
    if _RATE.search(chunk):
        return "rows_per_minute"
    if "turnaround" in low or "speed" in low or _DURATION.search(chunk):
        return "turnaround_s"
    return None


def _value(kind: str, chunk: str) -> float | None:
    if kind in {"coverage", "accuracy", "verified_share", "manual_share"}:
        match = _PERCENT.search(chunk)
        return _number(match.group(2)) / 100.0 if match else None
    if kind == "avg_cost_usd":
        match = _DOLLARS.search(chunk)
        if match:
            return _number(match.group(2) or match.group(3))
        return 0.0 if _FREE.search(chunk) else None
    if kind == "rows_per_minute":
        return _rows_per_minute(chunk)
    return _seconds(chunk)


#: What a Performance Metrics label means ("**Coverage:**" → the coverage figure).
_LABELS = {
    "coverage": "coverage",
    "cost": "avg_cost_usd",
    "speed": "speed",
    "turnaround": "speed",
    "quality": "quality",
    "accuracy": "accuracy",
}


def parse_documented(text: str, *, label: str | None = None) -> dict[str, float]:
    """Documented figures in a Performance line or bullet, keyed by figure name.

    Keys: ``coverage``, ``avg_cost_usd``, ``turnaround_s``, ``rows_per_minute``, ``accuracy``,
    ``verified_share``, ``manual_share``. Text in square brackets (the template's placeholders)
    documents nothing. ``label`` is the bullet's bold label ("Coverage", "Cost", "Speed",
    "Quality"), which decides what a bare number means.
    """
    text = _PLACEHOLDER.sub(" ", _EMPHASIS.sub("", text))
    kind_of_label = _LABELS.get((label or "").strip().lower())
    found: dict[str, float] = {}
    for chunk in _CHUNKS.split(text):
        if not chunk.strip():
            continue
        kind = _classify(chunk)
        if kind_of_label in {"coverage", "avg_cost_usd"} and kind is None:
            kind = kind_of_label
        elif kind_of_label == "speed" and kind not in {"rows_per_minute", "turnaround_s"}:
            kind = "rows_per_minute" if _RATE.search(chunk) else "turnaround_s"
        elif kind_of_label == "quality" and kind is None and _PERCENT.search(chunk):
            kind = "accuracy"
        if kind is None or kind in found:
            continue
        value = _value(kind, chunk)
        if value is not None:
            found[kind] = value
    return found


StepRole = Literal["finder", "verifier", "manual"]


@dataclass(frozen=True)
class PlannedStep:
    """A documented step and the provider that runs it.

    Attributes:
        position: 0-based index of the step in the documented sequence.
        step: the documented step.
        provider: the registered provider that runs it (a substitute when the documented
            provider has no adapter and ``substitute=`` named one).
        role: ``finder``, ``verifier`` (checks the emails earlier steps found) or ``manual``
            (a hand-off to a person).
    """

    position: int
    step: DocumentedStep
    provider: str
    role: StepRole

    @property
    def substituted(self) -> bool:
        """Whether the step runs on another provider than the one documented."""
        return self.provider != self.step.provider


__all__ = [
    "DocumentedStep",
    "PlannedStep",
    "StepRole",
    "is_step_line",
    "parse_documented",
    "parse_step_line",
    "strip_symbols",
]
