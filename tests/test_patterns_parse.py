"""Reading what people write: step lines, provider aliases, documented figures, broken files."""

from __future__ import annotations

import pytest
from _patterns_helpers import HAND_EDITED

from gtmkit.patterns import PatternError, from_text, load
from gtmkit.patterns.sequence import parse_documented, parse_step_line
from gtmkit.providers import PROVIDERS
from gtmkit.providers.aliases import ALIASES, has_adapter, resolve_alias

STEP_LINES = [
    (
        "1. Apollo (company + title search) → 70% hit rate, $0.50/contact",
        "Apollo",
        "apollo",
        0.70,
        0.50,
    ),
    (
        "2. ZoomInfo (title + seniority fallback) -> 20% hit rate, $1.20/contact",
        "ZoomInfo",
        "zoominfo",
        0.20,
        1.20,
    ),
    (
        "3. Hunter.io (email pattern verification) → 8% hit rate, $0.30/contact",
        "Hunter.io",
        "hunter",
        0.08,
        0.30,
    ),
    ("4. Manual LinkedIn (final 2%)", "Manual LinkedIn", "manual", 0.02, None),
    (
        "  2)   **People Data Labs**  ->  ~20% ,  $1.20 per contact   ",
        "People Data Labs",
        "pdl",
        0.20,
        1.20,
    ),
    ("5. PDL", "PDL", "pdl", None, None),
    ("1. 🔎 Hunter → 40%", "Hunter", "hunter", 0.40, None),
    ("1. Pattern guess (free) → 35% hit rate", "Pattern guess", "pattern", 0.35, 0.0),
    ("3. Apollo.io — database fallback => 7.5%, $0.05 each", "Apollo.io", "apollo", 0.075, 0.05),
    ("6. manual research", "manual research", "manual", None, None),
    ("2. Hunter verifier -> $0.05/check", "Hunter verifier", "hunter_verifier", None, 0.05),
]


@pytest.mark.parametrize(("line", "name", "provider", "hit_rate", "cost"), STEP_LINES)
def test_step_lines_people_write(line, name, provider, hit_rate, cost):
    step = parse_step_line(line, line_number=7)
    assert (step.name, step.provider, step.line) == (name, provider, 7)
    assert (
        step.hit_rate == pytest.approx(hit_rate) if hit_rate is not None else step.hit_rate is None
    )
    assert step.cost_usd == pytest.approx(cost) if cost is not None else step.cost_usd is None


def test_approximate_figures_are_marked():
    assert parse_step_line("2. ZoomInfo -> ~20%").approximate
    assert not parse_step_line("2. ZoomInfo -> 20%").approximate


def test_a_line_that_is_not_a_step_is_refused():
    with pytest.raises(ValueError, match="not a numbered step"):
        parse_step_line("Apollo → 70%")


def test_every_alias_resolves_to_a_registered_provider_or_a_known_one_without_adapter():
    for alias, key in ALIASES.items():
        assert resolve_alias(alias) == key
        assert has_adapter(key) == (key in PROVIDERS)
    assert has_adapter("zoominfo") and not has_adapter("clearbit")
    assert resolve_alias("Totally Unknown Data Co") is None


def test_documented_figures_from_the_seed_line_and_template_bullets():
    assert parse_documented("98% contact coverage, $0.68 avg cost, 24hr turnaround") == {
        "coverage": 0.98, "avg_cost_usd": 0.68, "turnaround_s": 86400.0,
    }  # fmt: skip
    assert parse_documented("[What % of target accounts get enriched]", label="Coverage") == {}
    assert parse_documented("2,000 rows/min", label="Speed") == {"rows_per_minute": 2000.0}
    assert parse_documented("92% accuracy, 70% verified", label="Quality") == {
        "accuracy": 0.92, "verified_share": 0.70,
    }  # fmt: skip


def test_hand_edited_entry_reads_every_part():
    p = from_text(("\ufeff" + HAND_EDITED).encode(), path="lib/enrichment-waterfalls/x.md")
    assert p.title == "🚀  Hand-Edited   Waterfall"
    assert (p.maturity, p.use_case, p.industry) == (
        "Experimental", "SMB lists — “quoted” use case, with trailing spaces", "SaaS",
    )  # fmt: skip
    assert [s.provider for s in p.sequence] == ["hunter", "pdl", "manual"]
    assert [s.line for s in p.sequence] == [10, 11, 12]
    assert p.documented == {"coverage": 0.65, "avg_cost_usd": 0.09}
    assert [t for t, _ in p.sections] == [
        "Architecture 🧭", "📈 Performance Metrics", "Notes (an extra section)", "Version History",
    ]  # fmt: skip
    assert p.document.bom and p.document.newline == "\r\n"
    assert p.to_bytes() == ("\ufeff" + HAND_EDITED).encode()


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("no title here\n", 1, "no '# Title' heading"),
        ("# T\n\n**Maturity:** Legendary\n", 3, "unknown maturity"),
        ("# T\n\n## Performance Metrics\n<!-- gtmkit:benchmarks:begin -->\nx\n", 4, "not closed"),
        ("# T\n\nx\n<!-- gtmkit:benchmarks:end -->\n", 4, "without its begin"),
        (
            "# T\n<!-- gtmkit:benchmarks:begin -->\n<!-- gtmkit:benchmarks:history\n{oops\n-->\n"
            "<!-- gtmkit:benchmarks:end -->\n", 4, "history line is not readable",
        ),
        ("# T\n\n**Category:** Pottery\n", 3, "unknown category"),
    ],
)  # fmt: skip
def test_malformed_entry_names_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.md"
    path.write_text(text)
    with pytest.raises(PatternError, match=message) as info:
        load(path)
    assert info.value.path == str(path) and info.value.line == line
    assert f"{path}, line {line}:" in str(info.value)


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.md"
    path.write_bytes("# T\n\nCafé\n".encode("latin-1"))
    with pytest.raises(PatternError, match="not UTF-8") as info:
        load(path)
    assert info.value.line == 3


def test_an_unknown_provider_names_step_line_and_known_providers():
    p = from_text(
        "# T\n\n## Architecture\n\n1. Hunter\n2. Clearbitz → 10%\n",
        category="enrichment-waterfalls",
    )
    with pytest.raises(PatternError) as info:
        p.to_waterfall()
    assert info.value.line == 6 and "step 2 'Clearbitz'" in str(info.value)
    assert all(name in str(info.value) for name in PROVIDERS)
