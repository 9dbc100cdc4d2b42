"""The intake upload panel (``gtmkit.lists.upload``) without a browser: loads, shows, exports,
and says what to do when a file is too large, arrived empty, or is not a list."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gtmkit.errors import GtmkitError
from gtmkit.lists import ListError
from gtmkit.lists.upload import (
    UPLOAD_LIMIT_BYTES,
    IntakeUpload,
    UploadTooLarge,
    check_upload_size,
    intake_upload,
)


def _upload(panel: IntakeUpload, name: str, content: bytes, size: int | None = None) -> None:
    item = {"name": name, "type": "text/csv", "size": len(content) if size is None else size}
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    panel.upload.value = ({**item, "content": memoryview(content), "last_modified": stamp},)


def test_upload_too_large_is_a_list_error() -> None:
    assert issubclass(UploadTooLarge, ListError) and issubclass(UploadTooLarge, GtmkitError)
    assert issubclass(UploadTooLarge, ValueError)


def test_upload_size_limit_message() -> None:
    check_upload_size("ok.csv", UPLOAD_LIMIT_BYTES)
    with pytest.raises(UploadTooLarge, match=r"big\.xlsx is 12\.0 MB.*`path` parameter"):
        check_upload_size("big.xlsx", 12 * 1024 * 1024)


def test_upload_widget_loads_shows_and_exports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loaded_lists = []
    panel = intake_upload(export_dir=tmp_path, on_loaded=loaded_lists.append)
    panel.button.click()
    assert "Choose a file first" in capsys.readouterr().out
    _upload(panel, "leads.csv", b"First Name,Email\nAnn,ann@acme.com\n,\nAnn,ANN@acme.com\n")
    panel.button.click()
    shown = capsys.readouterr().out
    assert "leads.csv: 3 rows -> 2 accepted, 1 rejected, 1 duplicates" in shown
    assert "Column mapping" in shown and "Exported clean records to" in shown
    assert panel.loaded is not None and panel.loaded.records.height == 2
    assert panel.exported == tmp_path / "leads.clean.csv" and panel.exported.exists()
    assert loaded_lists == [panel.loaded]


def test_upload_widget_says_when_a_file_is_too_large(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    panel = intake_upload(export_dir=tmp_path, limit=1000)
    _upload(panel, "big.csv", b"Email\n" + b"a@b.io\n" * 200)  # 1,406 bytes
    panel.button.click()
    shown = capsys.readouterr().out
    assert "Could not load big.csv" in shown and "`path` parameter" in shown
    # The websocket drops an oversized upload: it arrives with its size but no content.
    _upload(panel, "huge.xlsx", b"", size=50 * 1024 * 1024)
    panel.button.click()
    assert "huge.xlsx is 50.0 MB" in capsys.readouterr().out
    _upload(panel, "lost.csv", b"", size=0)
    panel.button.click()
    assert "lost.csv arrived empty" in capsys.readouterr().out
    assert panel.loaded is None and list(tmp_path.iterdir()) == []


def test_upload_widget_reports_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    panel = intake_upload(export_dir=tmp_path)
    _upload(panel, "garbage.csv", bytes(range(256)) * 8)
    panel.button.click()
    shown = capsys.readouterr().out
    assert "Could not load garbage.csv: " in shown and "Traceback" not in shown
    assert panel.loaded is None
