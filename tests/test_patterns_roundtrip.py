"""Every byte a person wrote survives write-backs; gtmkit's own lines are regenerated whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from _patterns_helpers import (
    HAND_EDITED,
    LIBRARY,
    assert_person_text_kept,
    copy_library,
    fake_result,
    strip_generated,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gtmkit.patterns import PatternError, load
from gtmkit.patterns.index import entry_paths
from gtmkit.patterns.parse import BEGIN, END

ENTRIES = entry_paths(LIBRARY)


def test_the_library_has_every_category_and_the_first_entries():
    names = {p.stem for p in ENTRIES}
    assert {p.parent.name for p in ENTRIES} == {
        "enrichment-waterfalls", "integration-architectures", "automation-blueprints",
        "data-source-combinations",
    }  # fmt: skip
    assert {"enterprise-contact-enrichment", "smb-verified-guess-waterfall", "direct-in-process",
            "queue-based-pipeline", "event-driven-webhooks", "funding-event-enrich-notify",
            "sample-provider-combinations"} <= names  # fmt: skip
    assert (LIBRARY / "README.md").exists() and (LIBRARY / "TEMPLATE.md").exists()


@pytest.mark.parametrize("path", ENTRIES, ids=lambda p: p.stem)
def test_every_entry_parses_and_round_trips(path: Path):
    p = load(path)
    assert p.title and p.category == path.parent.name
    assert p.maturity == "Experimental", "first entries are Experimental until live engagements"
    assert not any(b.source == "live" for b in p.history)
    assert p.to_bytes() == path.read_bytes()
    if p.category == "enrichment-waterfalls":
        assert p.sequence, "a waterfall entry documents its steps"


@pytest.mark.parametrize("path", [p for p in ENTRIES if p.parent.name == "enrichment-waterfalls"],
                         ids=lambda p: p.stem)  # fmt: skip
def test_committed_entries_survive_a_write_back(tmp_path, path):
    lib = copy_library(tmp_path)
    target = lib / path.relative_to(LIBRARY)
    original = target.read_text(encoding="utf-8")
    p = load(target)
    providers = [s.provider for s in p.plan(substitute={"zoominfo": "pdl"})]
    providers = [x for x in providers if x != "hunter_verifier"] + (
        ["hunter_verifier"] if "hunter_verifier" in providers else []
    )
    p.record_benchmark(fake_result(providers, seed=3))
    assert p.save() is True
    written = target.read_text(encoding="utf-8")
    assert_person_text_kept(strip_generated(original), written)
    assert load(target).history[-1].id == p.history[-1].id


def _fixture(tmp_path: Path, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / "enrichment-waterfalls" / "hand.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_hand_edited_fixture_keeps_bom_line_endings_spacing_and_emoji(tmp_path, bom, newline):
    text = HAND_EDITED.replace("\r\n", newline)
    path = _fixture(tmp_path, text, bom=bom)
    for seed in (1, 2):
        p = load(path)
        p.record_benchmark(fake_result(["hunter", "pdl", "manual"], seed=seed))
        p.save()
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") == bom
    written = data.decode("utf-8-sig")
    assert_person_text_kept(text, written)
    if newline == "\r\n":
        assert written.count("\n") == written.count("\r\n"), "CRLF stays CRLF, new lines too"
    # the person's own Performance Metrics bullets stay above the generated block
    assert written.index("- my own note, keep me 👍🏽   ") < written.index(BEGIN)
    assert written.index(BEGIN) < written.index("## Notes (an extra section)")
    assert len(load(path).history) == 2
    assert written.count("gtmkit benchmark ") == 2


def test_writing_the_same_benchmark_twice_changes_nothing(tmp_path):
    path = _fixture(tmp_path, HAND_EDITED)
    result = fake_result(["hunter", "pdl", "manual"], seed=5)
    p = load(path)
    first = p.record_benchmark(result)
    assert p.save() is True
    once = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    q = load(path)
    assert q.record_benchmark(result).id == first.id
    assert q.save() is False
    assert path.read_bytes() == once and path.stat().st_mtime_ns == mtime


def test_missing_sections_are_added_and_nothing_else_moves(tmp_path):
    text = "# Bare\n\n## Architecture\n\n1. Hunter → 50%\n2. PDL\n\nTrailing words, no newline"
    path = _fixture(tmp_path, text)
    p = load(path)
    p.record_benchmark(fake_result(["hunter", "pdl"], seed=1))
    p.save()
    written = path.read_text()
    assert "## Performance Metrics" in written and "## Version History" in written
    assert written.index("## Performance Metrics") < written.index("## Version History")
    assert_person_text_kept(text, written.replace("\n\n## Performance Metrics\n", "", 1)
                            .replace("\n\n## Version History\n\n", "", 1))  # fmt: skip
    assert load(path).history


def test_the_block_is_regenerated_not_edited(tmp_path):
    path = _fixture(tmp_path, HAND_EDITED)
    p = load(path)
    p.record_benchmark(fake_result(["hunter", "pdl", "manual"], seed=1))
    p.save()
    # someone edits a rendered table cell inside the block: the next write-back restores it
    tampered = path.read_text().replace(
        "| Coverage (email at the end) | 65.0%", "| Coverage (email at the end) | 99.9%"
    )
    path.write_text(tampered)
    q = load(path)
    q.record_benchmark(fake_result(["hunter", "pdl", "manual"], seed=2))
    q.save()
    assert "99.9%" not in path.read_text()


def test_malformed_file_on_disk_writes_nothing(tmp_path):
    path = _fixture(tmp_path, HAND_EDITED)
    p = load(path)
    p.record_benchmark(fake_result(["hunter", "pdl", "manual"], seed=1))
    broken = HAND_EDITED.replace("## Version History", END + "\r\n## Version History")
    path.write_text(broken)  # a person broke the file after it was loaded
    before = path.read_bytes()
    with pytest.raises(PatternError, match="without its begin") as info:
        p.save()
    assert info.value.path == str(path) and info.value.line is not None
    assert path.read_bytes() == before


# -- random person text survives any sequence of write-backs ----------------------------------
_ALPHABET = st.sampled_from(
    [*"abcXYZ019 \t*-_.,;:!?'\"()[]{}|/\\$%&+=~^", *"éßñ“”\xa0\u200d", *"🚀🔬👍🏽"]
)
_LINE = st.text(_ALPHABET, max_size=30).filter(
    lambda s: (
        not s.lstrip().startswith(("#", "```", "~~~", "<!--"))
        and "gtmkit" not in s
        and not s.lstrip().startswith(("1.", "2.", "3.", "1)", "2)"))
    )
)
_LINES = st.lists(_LINE, max_size=5)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    newline=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
    perf=_LINES,
    notes=_LINES,
    history=_LINES,
    tail=_LINES,
    final_newline=st.booleans(),
    seeds=st.lists(st.integers(0, 5), min_size=1, max_size=4),
)
def test_random_person_text_survives_any_write_backs(
    tmp_path_factory, newline, bom, perf, notes, history, tail, final_newline, seeds
):
    parts = [
        "# Random Entry", "", "**Maturity:** Experimental", "", "## Architecture", "",
        "1. Hunter → 40%", "2. PDL", "", "## Performance Metrics", *perf, "", "## Notes", *notes,
        "", "## Version History", *history, "## Tail", *tail,
    ]  # fmt: skip
    text = newline.join(parts) + (newline if final_newline else "")
    path = _fixture(tmp_path_factory.mktemp("h"), text, bom=bom)
    for seed in seeds:
        p = load(path)
        p.record_benchmark(fake_result(["hunter", "pdl"], seed=seed, n=30))
        p.save()
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") == bom
    written = data.decode("utf-8-sig")
    assert_person_text_kept(text, written)
    assert len(load(path).history) == len(set(seeds))
    if newline == "\r\n":
        assert written.count("\n") == written.count("\r\n")
