"""Read an entry's markdown into its parts without losing a byte.

The text is kept exactly as read (BOM, CRLF or LF, trailing spaces, emoji) as a tuple of lines
*with* their line endings, so joining them gives the file back. Everything else — the title,
the header fields (``**Maturity:** ...``), the sections and the generated benchmark block —
is found by position in those lines; a write-back then replaces only the lines it owns.

Example:
    >>> text = "# Demo\\r\\n\\r\\n**Maturity:** 🔬 Experimental  \\r\\n\\r\\n## Architecture\\r\\n"
    >>> doc = parse_document(text)
    >>> doc.title, doc.field("maturity"), doc.newline, [s.title for s in doc.sections]
    ('Demo', '🔬 Experimental', '\\r\\n', ['Architecture'])
    >>> doc.text() == text
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gtmkit.patterns.errors import PatternError
from gtmkit.patterns.sequence import strip_symbols

BEGIN = "<!-- gtmkit:benchmarks:begin"
END = "<!-- gtmkit:benchmarks:end -->"
HISTORY = "<!-- gtmkit:benchmarks:history"

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
_FENCE = re.compile(r"^ {0,3}(```+|~~~+)")
# "**Maturity:** x", "**Maturity**: x", "- **Use Case:** x", "Maturity: x"
_FIELD = re.compile(
    r"^\s*(?:[-*+]\s+)?(?:\*\*|__)?\s*([A-Za-z][A-Za-z /-]{1,30}?)\s*"
    r"(?::(?:\*\*|__)|(?:\*\*|__):|:)\s?(.*)$"
)

#: First characters of the lines the scanner must look at (headings, fences, markers,
#: comments, and any of them indented by up to three spaces).
_MARKUP_STARTS = frozenset("#`~< \t")

#: Header fields an entry may carry, by normalized label.
FIELDS = ("maturity", "use case", "industry", "company stage", "category")


def split_lines(text: str) -> tuple[str, ...]:
    """Lines with their endings (``\\n`` or ``\\r\\n``); ``"".join`` gives ``text`` back.

    Only ``\\n`` ends a line (not the other separators ``str.splitlines`` knows), so line
    numbers agree with what an editor shows.
    """
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return tuple(lines)


def decode(data: bytes, *, path: str | Path | None = None) -> tuple[str, bool]:
    """UTF-8 text of an entry and whether it started with a BOM.

    Raises:
        PatternError: naming the line of the first byte that is not UTF-8.
    """
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    try:
        return body.decode("utf-8"), bom
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise PatternError(
            f"not UTF-8 (byte {body[exc.start]:#04x}); save the entry as UTF-8",
            path=path,
            line=line,
        ) from None


def _label(text: str) -> str:
    return re.sub(r"\s+", " ", strip_symbols(text).lower()).strip()


@dataclass(frozen=True)
class Section:
    """A ``##`` (or deeper) section: heading line index, and where its body ends.

    Attributes:
        title: the heading text as written (emoji kept).
        key: the title normalized for matching ("📈 Performance Metrics" → "performance metrics").
        level: number of ``#``.
        start: index of the heading line in ``Document.lines``.
        end: index one past the section's last line (the next heading of the same or a higher
            level, or the end of the file).
    """

    title: str
    key: str
    level: int
    start: int
    end: int

    @property
    def line(self) -> int:
        """1-based line number of the heading."""
        return self.start + 1


@dataclass(frozen=True)
class Block:
    """Where the generated benchmark block sits: ``lines[start:end]``, markers included."""

    start: int
    end: int
    history: tuple[tuple[int, str], ...]  # (line index, JSON text) per recorded benchmark


@dataclass(frozen=True)
class Document:
    """An entry's text and where its parts are (see the module docstring)."""

    lines: tuple[str, ...]
    bom: bool
    newline: str
    title: str
    title_index: int
    fields: dict[str, tuple[str, int]]  # normalized label → (value, line index)
    sections: tuple[Section, ...]
    block: Block | None
    path: str | None = None
    comments: frozenset[int] = frozenset()  # line indices inside a person's HTML comments

    def text(self) -> str:
        """The entry's text, exactly as read (without the BOM)."""
        return "".join(self.lines)

    def to_bytes(self) -> bytes:
        """The entry's bytes, exactly as read (BOM included)."""
        return (b"\xef\xbb\xbf" if self.bom else b"") + self.text().encode("utf-8")

    def field(self, label: str) -> str | None:
        """A header field's value as written (``None`` when absent)."""
        found = self.fields.get(label)
        return found[0] if found else None

    def section(self, key: str) -> Section | None:
        """The first section whose normalized title is ``key`` or starts with it."""
        for section in self.sections:
            if section.key == key:
                return section
        for section in self.sections:
            if section.key.startswith(key):
                return section
        return None

    def body(self, section: Section, *, skip_block: bool = True) -> list[tuple[int, str]]:
        """``(line index, line without ending)`` of a section's body, the block and HTML
        comments left out (``skip_block=False`` keeps both)."""
        out = []
        for i in range(section.start + 1, section.end):
            if skip_block and (
                i in self.comments or (self.block and self.block.start <= i < self.block.end)
            ):
                continue
            out.append((i, self.lines[i].rstrip("\r\n")))
        return out


def _newline(text: str) -> str:
    crlf = text.count("\r\n")
    return "\r\n" if crlf > text.count("\n") - crlf else "\n"


def parse_document(text: str, *, bom: bool = False, path: str | Path | None = None) -> Document:
    """Find the parts of an entry (see the module docstring).

    Raises:
        PatternError: no ``# Title`` heading, or a generated block whose markers are broken
            (a begin without an end, two blocks, an end before a begin), naming the line.
    """
    where = None if path is None else str(path)
    lines = split_lines(text)
    headings: list[tuple[int, int, str]] = []  # (index, level, title)
    begins: list[int] = []
    ends: list[int] = []
    comments: set[int] = set()
    in_comment = False
    fence: str | None = None
    for i, raw in enumerate(lines):
        if not in_comment and fence is None and raw[:1] not in _MARKUP_STARTS:
            continue  # plain prose: no heading, fence, marker or comment starts here
        line = raw.rstrip("\r\n")
        if in_comment:
            comments.add(i)
            in_comment = "-->" not in line
            continue
        fence_match = _FENCE.match(line)
        if fence_match:
            mark = fence_match.group(1)
            if fence is None:
                fence = mark[0] * 3
            elif mark.startswith(fence):
                fence = None
            continue
        if fence is not None:
            continue
        if line.lstrip().startswith(BEGIN):
            begins.append(i)
            continue
        if line.strip() == END:
            ends.append(i)
            continue
        if begins and len(ends) < len(begins):
            continue  # inside the generated block: its lines are not the person's headings
        if line.lstrip().startswith("<!--"):
            comments.add(i)
            in_comment = "-->" not in line[line.index("<!--") + 4 :]
            continue
        heading = _HEADING.match(line)
        if heading:
            headings.append((i, len(heading.group(1)), heading.group(2).strip()))
    block = _block(lines, begins, ends, where)
    title_index = next((i for i, level, _ in headings if level == 1), None)
    if title_index is None:
        raise PatternError(
            "no '# Title' heading; an entry starts with '# <Pattern Name>' (see "
            "patterns/TEMPLATE.md)",
            path=where,
            line=1,
        )
    title = next(t for i, _, t in headings if i == title_index)
    sections = []
    subs = [(i, level, t) for i, level, t in headings if i > title_index and level >= 2]
    for pos, (i, level, t) in enumerate(subs):
        end = next((j for j, lv, _ in subs[pos + 1 :] if lv <= level), len(lines))
        sections.append(Section(title=t, key=_label(t), level=level, start=i, end=end))
    header_end = sections[0].start if sections else len(lines)
    fields: dict[str, tuple[str, int]] = {}
    for i in range(title_index + 1, header_end):
        match = _FIELD.match(lines[i].rstrip("\r\n"))
        if match:
            label = _label(match.group(1))
            if label in FIELDS and label not in fields:
                fields[label] = (match.group(2).strip(), i)
    return Document(
        lines=lines,
        bom=bom,
        newline=_newline(text),
        title=title,
        title_index=title_index,
        fields=fields,
        sections=tuple(sections),
        block=block,
        path=where,
        comments=frozenset(comments),
    )


def _block(
    lines: tuple[str, ...], begins: list[int], ends: list[int], where: str | None
) -> Block | None:
    if not begins and not ends:
        return None
    if len(begins) > 1:
        raise PatternError(
            "a second generated benchmark block starts here; keep one (delete the other, "
            "markers included, and write the benchmark back again)",
            path=where,
            line=begins[1] + 1,
        )
    if not begins:
        raise PatternError(
            f"'{END}' without its begin marker; restore the block or delete this line",
            path=where,
            line=ends[0] + 1,
        )
    start = begins[0]
    after = [e for e in ends if e > start]
    if not after or len(ends) > 1 or ends[0] < start:
        bad = ends[0] if ends and ends[0] < start else start
        raise PatternError(
            "the generated benchmark block is not closed by one "
            f"'{END}' line; restore the marker (the block is regenerated from its history)",
            path=where,
            line=bad + 1,
        )
    end = after[0]
    history: list[tuple[int, str]] = []
    inside = False
    for i in range(start + 1, end):
        line = lines[i].strip()
        if line.startswith(HISTORY):
            inside = True
            continue
        if inside:
            if line == "-->":
                inside = False
            elif line:
                history.append((i, line))
    if inside:
        raise PatternError(
            "the benchmark history comment inside the generated block is not closed by '-->'",
            path=where,
            line=end + 1,
        )
    return Block(start=start, end=end + 1, history=tuple(history))


__all__ = [
    "BEGIN",
    "END",
    "FIELDS",
    "HISTORY",
    "Block",
    "Document",
    "Section",
    "decode",
    "parse_document",
    "split_lines",
]
