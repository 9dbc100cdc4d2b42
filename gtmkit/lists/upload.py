"""Lists coming in through a notebook: the upload panel, its size limit, and what intake did.

Jupyter's websocket drops messages over ~10 MB (Tornado's ``websocket_max_message_size``): a
larger upload arrives empty or never, without an error. So the panel refuses it with a message
that says what to do (the notebook's ``path`` parameter), and :func:`show_intake` displays the
same summary whichever way the list came in.

Example:
    >>> from gtmkit.lists.upload import UploadTooLarge, check_upload_size
    >>> check_upload_size("leads.csv", 2_000)
    >>> try:
    ...     check_upload_size("big.csv", 11 * 1024 * 1024)
    ... except UploadTooLarge as exc:
    ...     print(str(exc).split(";")[0])
    big.csv is 11.0 MB
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gtmkit.lists.errors import ListError
from gtmkit.paths import display_path, resolve_path

if TYPE_CHECKING:  # pragma: no cover
    from gtmkit.lists.load import LoadedList

__all__ = [
    "UPLOAD_LIMIT_BYTES",
    "IntakeUpload",
    "UploadTooLarge",
    "check_upload_size",
    "intake_counts",
    "intake_upload",
    "show_intake",
]

#: Jupyter's websocket drops messages over ~10 MB by default (Tornado's
#: ``websocket_max_message_size``): larger uploads arrive empty or never, without an error.
UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024


class UploadTooLarge(ListError):
    """An upload is over the notebook's websocket limit; use the ``path`` parameter instead."""


def check_upload_size(filename: str, size: int, *, limit: int = UPLOAD_LIMIT_BYTES) -> None:
    """Raise :class:`UploadTooLarge` with what to do when ``size`` bytes exceed ``limit``."""
    if size > limit:
        raise UploadTooLarge(
            f"{filename} is {size / 1024**2:.1f} MB; uploads over {limit / 1024**2:.0f} MB are "
            "dropped by the notebook's websocket (they arrive empty, without an error). Copy "
            "the file under data/raw/ and set the notebook's `path` parameter to it instead "
            "(or run the notebook with papermill: -p path data/raw/<file>)."
        )


def intake_counts(loaded: LoadedList) -> dict[str, int]:
    """Rows in the source, accepted, rejected and duplicate (linked) counts of a loaded list.

    Example:
        >>> from gtmkit.lists import load_list
        >>> data = b"Email,Company\\nann@acme.com,Acme\\n,\\nANN@acme.com ,Acme\\n"
        >>> intake_counts(load_list(data, filename="l.csv"))
        {'rows': 3, 'accepted': 2, 'rejected': 1, 'duplicates': 1}
    """
    records, rejected = loaded.records, loaded.rejected
    return {
        "rows": records.height + rejected.height,
        "accepted": records.height,
        "rejected": rejected.height,
        "duplicates": int(records["duplicate_of"].is_not_null().sum()),
    }


def show_intake(loaded: LoadedList, *, name: str = "list", max_rows: int = 10) -> None:
    """Display what intake did to a list: counts, how it was read, the column mapping, the
    rejected rows with their reason and the duplicates linked to their first occurrence.

    Used for both ways in: a file path (batch/papermill) and an upload (interactive).
    """
    import polars as pl
    from IPython.display import display

    counts = intake_counts(loaded)
    print(
        f"{name}: {counts['rows']} rows -> {counts['accepted']} accepted, "
        f"{counts['rejected']} rejected, {counts['duplicates']} duplicates"
    )
    print(loaded.summary())
    mapping = pl.DataFrame(
        {"source column": list(loaded.mapping), "canonical field": list(loaded.mapping.values())},
        schema={"source column": pl.String, "canonical field": pl.String},
    )
    print("\nColumn mapping:")
    display(mapping)
    if loaded.rejected.height:
        print(f"\nRejected rows (first {min(max_rows, loaded.rejected.height)}), with the reason:")
        display(loaded.rejected.head(max_rows))
    if counts["duplicates"]:
        first = loaded.records.filter(pl.col("duplicate_of").is_not_null())
        shown = min(max_rows, first.height)
        print(f"\nDuplicates, linked to their first occurrence (first {shown}):")
        columns = ["row_id", "duplicate_of", "first_name", "last_name", "email", "company_domain"]
        display(first.select([c for c in columns if c in first.columns]).head(max_rows))


@dataclass
class IntakeUpload:
    """The upload panel: ``widget`` to display; ``loaded`` is the last list loaded from it."""

    widget: Any
    upload: Any
    button: Any
    output: Any
    loaded: LoadedList | None = None
    exported: Path | None = None


def intake_upload(
    *,
    export_dir: str | os.PathLike[str] | None = None,
    limit: int = UPLOAD_LIMIT_BYTES,
    accept: str = ".csv,.tsv,.txt,.xlsx,.xls,.parquet",
    on_loaded: Callable[[LoadedList], None] | None = None,
) -> IntakeUpload:
    """A FileUpload + "Load list" button + output area for the intake notebook.

    Clicking the button loads the uploaded file with :func:`gtmkit.load_list` and shows
    :func:`show_intake`; with ``export_dir`` the clean records are exported there with
    :func:`gtmkit.export_csv`. Files over ``limit`` get a clear message telling the user to use
    the ``path`` parameter (the websocket would drop them silently). Headless runs (papermill)
    never receive an upload: use the ``path`` parameter there.
    """
    import ipywidgets as w

    mb = limit / 1024**2
    upload = w.FileUpload(accept=accept, multiple=False, description="Choose file")
    button = w.Button(description="Load list", button_style="primary", icon="table")
    output = w.Output()
    hint = w.HTML(
        f"<small>CSV, TSV, TXT, XLSX/XLS or Parquet, up to {mb:.0f} MB. Larger files: set the "
        "<code>path</code> parameter instead.</small>"
    )
    panel = IntakeUpload(w.VBox([w.HBox([upload, button]), hint, output]), upload, button, output)

    def on_click(_: Any) -> None:
        from gtmkit.lists import export_csv, load_list

        output.clear_output()
        with output:
            if not upload.value:
                print("Choose a file first (the 'Choose file' button), then click 'Load list'.")
                return
            item = upload.value[0]
            filename = item["name"]
            content = bytes(item["content"])
            try:
                size = max(int(item.get("size") or 0), len(content))
                check_upload_size(filename, size, limit=limit)
                if not content:
                    raise UploadTooLarge(
                        f"{filename} arrived empty: the upload was probably over the websocket "
                        f"limit (~{mb:.0f} MB). Set the notebook's `path` parameter instead."
                    )
                loaded = load_list(content, filename=filename)
            except ListError as exc:
                print(f"Could not load {filename}: {exc}")
                return
            panel.loaded = loaded
            show_intake(loaded, name=filename)
            if export_dir is not None:
                target = resolve_path(export_dir)
                target.mkdir(parents=True, exist_ok=True)
                panel.exported = target / f"{Path(filename).stem}.clean.csv"
                export_csv(loaded.records, panel.exported)
                print(f"\nExported clean records to {display_path(panel.exported)}")
            if on_loaded is not None:
                on_loaded(loaded)

    button.on_click(on_click)
    return panel
