"""Attacks on reading the pattern library (issue 11, "Patterns"): a library folder cloned or
shared from someone else may carry symlinks that lead out of it. Their targets' text must not
reach the index, search results or a report; the entry is reported with its reason instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from gtmkit.patterns import PatternError, index, load
from tests._patterns_helpers import HAND_EDITED

SECRET = "PRIVATE-NOTE-7f3a"


def _library_with_an_outward_link(tmp_path: Path) -> tuple[Path, Path]:
    """A library with one real entry and one entry that is a link to a file outside it."""
    library = tmp_path / "patterns"
    (library / "enrichment-waterfalls").mkdir(parents=True)
    (library / "enrichment-waterfalls" / "real.md").write_text(HAND_EDITED)
    outside = tmp_path / "home" / "notes.md"
    outside.parent.mkdir()
    outside.write_text(HAND_EDITED.replace("\n", f"\n{SECRET}\n", 1))  # reads as an entry
    link = library / "enrichment-waterfalls" / "linked.md"
    link.symlink_to(outside)
    return library, link


def test_the_index_reports_an_outward_link_and_reads_nothing_through_it(tmp_path: Path) -> None:
    library, _ = _library_with_an_outward_link(tmp_path)
    frame = index(library, on_error="report")
    assert sorted(frame["name"].to_list()) == ["linked", "real"]
    bad = frame.filter(frame["name"] == "linked").row(0, named=True)
    assert "leads outside the pattern library" in bad["error"]
    assert bad["title"] is None and bad["steps"] == []
    assert SECRET not in str(frame.to_dicts())
    good = frame.filter(frame["name"] == "real").row(0, named=True)
    assert good["error"] is None and good["title"]


def test_the_index_raises_on_an_outward_link_by_default(tmp_path: Path) -> None:
    library, _ = _library_with_an_outward_link(tmp_path)
    with pytest.raises(PatternError, match="does not read through it") as caught:
        index(library)
    assert SECRET not in str(caught.value)


def test_load_refuses_an_outward_link_but_follows_one_inside(tmp_path: Path) -> None:
    library, link = _library_with_an_outward_link(tmp_path)
    with pytest.raises(PatternError, match="does not read through it"):
        load(link)
    inward = library / "enrichment-waterfalls" / "alias.md"
    inward.symlink_to("real.md")
    assert load(inward).title == load(library / "enrichment-waterfalls" / "real.md").title


def test_load_takes_a_relative_path_that_climbs_back_into_the_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _library_with_an_outward_link(tmp_path)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")  # where notebooks run: ../patterns/...
    assert load(Path("../patterns/enrichment-waterfalls/real.md")).title
