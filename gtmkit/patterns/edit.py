"""Apply benchmarks to an entry's text, touching only the lines gtmkit owns.

A write-back changes exactly three things and nothing else:

1. the generated block (re-rendered whole from the merged history; inserted after the last
   line a person wrote under "## Performance Metrics" the first time, creating that section
   before "## Deployment Guide" — or the next template section — when it is missing);
2. one Version History line per new benchmark, after the section's last written line (the
   section is appended at the end when missing);
3. the level word and emoji of the ``**Maturity:**`` line, when live engagements earn a
   higher level (and a "(simulated world only)" note there becomes the engagement count).

New lines take the file's own line ending. Applying a benchmark already in the history
changes nothing, so a write-back is idempotent and two writers' benchmarks merge.

Example:
    >>> from gtmkit.patterns.benchmark import Benchmark
    >>> from gtmkit.patterns.parse import parse_document
    >>> text = "# Demo\\n\\n**Maturity:** Experimental\\n\\n## Performance Metrics\\n\\n- mine  \\n"
    >>> b = Benchmark(date="2025-01-02", source="simulated", engagement=None, dataset="abc",
    ...               rows=10, kind="waterfall", providers=("hunter",))
    >>> once = apply_benchmarks(parse_document(text), [b])
    >>> once.startswith(text[:-1]) and "- mine  \\n<!-- gtmkit:benchmarks:begin" in once
    True
    >>> apply_benchmarks(parse_document(once), [b]) == once
    True
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gtmkit.patterns.benchmark import (
    LEVEL_EMOJI,
    Benchmark,
    live_engagements,
    merge_history,
    next_maturity,
    parse_level,
)
from gtmkit.patterns.block import render_block, version_line
from gtmkit.patterns.parse import Document, Section, parse_document

#: Sections that follow Performance Metrics in the template (where a missing one is inserted).
_AFTER_PERFORMANCE = ("deployment guide", "failure modes", "lessons learned", "version history")
_VERSION = re.compile(r"\bv(\d+)\.(\d+)\b")
_LEVEL_WORD = re.compile(r"battle[- ]?tested|experimental|proven|signature", re.IGNORECASE)


def history_of(doc: Document) -> tuple[Benchmark, ...]:
    """The benchmarks recorded in a document's generated block (empty without a block)."""
    if doc.block is None:
        return ()
    return tuple(
        Benchmark.from_json(text, path=doc.path, line=i + 1) for i, text in doc.block.history
    )


def _last_written(doc: Document, section: Section) -> int:
    """Index of the last non-blank line of a section (its heading when the body is empty)."""
    for i in range(section.end - 1, section.start, -1):
        if doc.lines[i].strip():
            return i
    return section.start


def _insert(doc: Document, after: int, new: Sequence[str]) -> str:
    """The text with ``new`` lines inserted after line ``after`` (which may lack an ending)."""
    nl = doc.newline
    lines = list(doc.lines)
    head, tail = lines[: after + 1], lines[after + 1 :]
    chunk = [line + nl for line in new]
    if head and not head[-1].endswith("\n"):
        # the line we follow ends the file without a newline: keep the file ending that way
        head[-1] += nl
        chunk[-1] = chunk[-1][: -len(nl)]
    return "".join(head + chunk + tail)


def _splice_block(doc: Document, block: list[str]) -> str:
    nl = doc.newline
    if doc.block is not None:
        lines = list(doc.lines)
        old_end = lines[doc.block.end - 1]
        ending = old_end[len(old_end.rstrip("\r\n")) :]
        chunk = [line + nl for line in block[:-1]] + [block[-1] + ending]
        return "".join(lines[: doc.block.start] + chunk + lines[doc.block.end :])
    section = doc.section("performance metrics") or doc.section("performance")
    if section is not None:
        return _insert(doc, _last_written(doc, section), block)
    follower = next(
        (s for key in _AFTER_PERFORMANCE for s in doc.sections if s.key.startswith(key)), None
    )
    new_section = ["## Performance Metrics", "", *block]
    if follower is not None:
        lines = list(doc.lines)
        chunk = [line + nl for line in [*new_section, ""]]
        return "".join(lines[: follower.start] + chunk + lines[follower.start :])
    return _insert(doc, len(doc.lines) - 1, ["", *new_section])


def _next_version(doc: Document, section: Section | None) -> str:
    best = None
    if section is not None:
        for _, line in doc.body(section):
            for major, minor in _VERSION.findall(line):
                key = (int(major), int(minor))
                best = key if best is None or key > best else best
    if best is None:
        return "v1.0"
    return f"v{best[0]}.{best[1] + 1}"


def _add_version_line(doc: Document, b: Benchmark) -> str:
    section = doc.section("version history")
    line = version_line(_next_version(doc, section), b)
    if section is None:
        return _insert(doc, len(doc.lines) - 1, ["", "## Version History", "", line])
    return _insert(doc, _last_written(doc, section), [line])


def _set_maturity(doc: Document, level: str, engagements: int) -> str:
    found = doc.fields.get("maturity")
    if found is None:
        return _insert(doc, doc.title_index, ["", f"**Maturity:** {LEVEL_EMOJI[level]} {level}"])
    value, index = found
    old = parse_level(value) or "Experimental"
    raw = doc.lines[index]
    body = raw.rstrip("\r\n")
    ending = raw[len(body) :]
    prefix, _, _ = body.rpartition(value) if value else (body, "", "")
    new_value = _LEVEL_WORD.sub(level, value, count=1) if _LEVEL_WORD.search(value) else level
    new_value = new_value.replace(LEVEL_EMOJI[old], LEVEL_EMOJI[level], 1)
    new_value = new_value.replace("(simulated world only)", f"({engagements} live engagements)", 1)
    lines = list(doc.lines)
    lines[index] = (prefix if value else body + " ") + new_value + ending
    return "".join(lines)


def apply_benchmarks(doc: Document, benchmarks: Sequence[Benchmark]) -> str:
    """The document's text with ``benchmarks`` merged in (see the module docstring)."""
    old = history_of(doc)
    known = {b.id for b in old}
    fresh = [b for b in merge_history(benchmarks) if b.id not in known]
    if not fresh:
        return doc.text()
    merged = merge_history(old, fresh)
    text = _splice_block(doc, render_block(merged))
    for b in fresh:
        current = parse_document(text, bom=doc.bom, path=doc.path)
        if f"gtmkit benchmark {b.id}" not in text:
            text = _add_version_line(current, b)
    current = parse_document(text, bom=doc.bom, path=doc.path)
    level = parse_level(current.field("maturity")) or "Experimental"
    engagements = live_engagements(merged)
    promoted = next_maturity(level, engagements)
    if promoted != level:
        text = _set_maturity(current, promoted, len(engagements))
    return text


__all__ = ["apply_benchmarks", "history_of"]
