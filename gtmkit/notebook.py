"""Helpers the notebooks share: run a notebook as a report, record its key figures, keep secrets
and machine paths out of it, and the list-upload widget.

Notebooks orchestrate and explain; anything they do twice lives here.

- :func:`run_notebook` executes a parameterized notebook with papermill into ``data/runs/``,
  scrubs what papermill injects (the ``injected-parameters`` cell and its metadata), refuses
  parameters that look like credentials, refuses to leave an output that contains anything
  looking like a key or an absolute machine path, and writes the recorded figures beside it as
  JSON (``<name>.figures.json``).
- :func:`record_figures` is what the last cell of every notebook calls; :func:`read_figures`
  reads them back from an executed notebook.
- :func:`find_leaks` scans a notebook (executed or committed) for key-like strings and absolute
  paths.
- :func:`intake_upload` builds the ipywidgets upload panel of the intake notebook, with a clear
  message when a file is too large for the notebook's websocket; :func:`show_intake` displays
  what intake did to a list (used by the upload and the ``path`` route alike).
- :func:`strip_outputs` / :func:`refresh_checked_outputs` keep committed notebooks free of
  outputs except the ``# NBVAL_CHECK_OUTPUT`` cells nbval compares.

Command line: ``python -m gtmkit.notebook run NOTEBOOK [-p NAME VALUE]... [--html]`` and
``python -m gtmkit.notebook refresh NOTEBOOK...``.

Example:
    >>> from gtmkit.notebook import UploadTooLarge, check_upload_size
    >>> check_upload_size("leads.csv", 2_000)
    >>> try:
    ...     check_upload_size("big.csv", 11 * 1024 * 1024)
    ... except UploadTooLarge as exc:
    ...     print(str(exc).split(";")[0])
    big.csv is 11.0 MB
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pragma: no cover
    import nbformat

    from gtmkit.lists import LoadedList

__all__ = [
    "FIGURES_TAG",
    "UPLOAD_LIMIT_BYTES",
    "IntakeUpload",
    "Leak",
    "NotebookLeakError",
    "NotebookRun",
    "NotebookRunError",
    "UploadTooLarge",
    "accuracy_by_source",
    "check_upload_size",
    "display_path",
    "figures_data",
    "find_leaks",
    "intake_counts",
    "intake_upload",
    "project_root",
    "read_figures",
    "record_figures",
    "refresh_checked_outputs",
    "resolve_path",
    "run_notebook",
    "scrub_notebook",
    "show_intake",
    "strip_outputs",
]

#: Cell tag of the cell that records a notebook's key figures (the last cell of each notebook).
FIGURES_TAG = "figures"

#: Jupyter's websocket drops messages over ~10 MB by default (Tornado's
#: ``websocket_max_message_size``): larger uploads arrive empty or never, without an error.
UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024

# Parameter names that would put a credential into the output notebook: papermill writes every
# parameter in plain text into the notebook and its metadata, so credentials come from env only.
_SECRET_NAME = re.compile(
    r"(?i)(api[_-]?key|apikey|token|secret|password|passwd|credential|bearer"
    r"|auth(?:[_-]?(?:key|token|header)|orization))"
)

_PROJECT_MARKERS = ("pyproject.toml", "gtmkit")


# --------------------------------------------------------------------------- paths


def project_root() -> Path:
    """The gtmkit project directory (the one holding ``pyproject.toml`` and ``gtmkit/``).

    Found from the working directory upwards (a notebook runs in ``notebooks/``), else from the
    installed package (an editable install lives in the project), else the working directory.
    """
    candidates = [Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[1]]
    for directory in candidates:
        if all((directory / marker).exists() for marker in _PROJECT_MARKERS):
            return directory
    return Path.cwd()


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """Resolve a notebook parameter path: absolute as given, else relative to the working
    directory when it exists there, else relative to the project root.

    So ``"data/samples/leads.csv"`` works from the repo root, from ``notebooks/`` and from a
    copy of a notebook anywhere else.
    """
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or candidate.exists():
        return candidate
    return project_root() / candidate


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as it may appear in a report: relative to the project root when inside it, else
    the file name only — never an absolute machine path."""
    resolved = Path(path).expanduser().resolve()
    for base in (project_root().resolve(), Path.cwd().resolve()):
        try:
            return resolved.relative_to(base).as_posix()
        except ValueError:
            continue
    return resolved.name


# --------------------------------------------------------------------------- figures


def figures_data(value: Any) -> Any:
    """Key figures as plain JSON types: floats rounded to 4 places (stable across platforms),
    NaN/inf as null, sets sorted, paths shown relative to the project, numpy/polars scalars
    unwrapped.

    Example:
        >>> figures_data({"rate": 2 / 3, "tags": {"b", "a"}, "bad": float("nan")})
        {'rate': 0.6667, 'tags': ['a', 'b'], 'bad': None}
    """
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return round(value, 4)
    if isinstance(value, Mapping):
        return {str(k): figures_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [figures_data(v) for v in items]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return display_path(value)
    if hasattr(value, "item"):  # numpy/polars scalars
        return figures_data(value.item())
    return str(value)


def record_figures(figures: Mapping[str, Any]) -> dict[str, Any]:
    """Print a notebook's key figures as one JSON object (sorted keys, floats rounded to 4 places).

    The last cell of every gtmkit notebook calls this in a cell tagged ``figures``;
    :func:`read_figures` and :func:`run_notebook` read it back from the executed notebook.

    Example:
        >>> _ = record_figures({"rows": 3, "coverage": 2 / 3})
        {
          "coverage": 0.6667,
          "rows": 3
        }
    """
    data = figures_data(dict(figures))
    print(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
    return data


def _cell_text(cell: Mapping[str, Any]) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            text = output.get("text", "")
            parts.append(text if isinstance(text, str) else "".join(text))
    return "".join(parts)


def read_figures(notebook: str | os.PathLike[str] | nbformat.NotebookNode) -> dict[str, Any]:
    """The figures an executed notebook recorded with :func:`record_figures`.

    Raises:
        ValueError: the notebook has no executed ``figures`` cell with a JSON object.
    """
    nb = _read(notebook)
    tagged = [c for c in nb.cells if FIGURES_TAG in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise ValueError(f"no cell tagged {FIGURES_TAG!r} in the notebook")
    text = _cell_text(tagged[-1]).strip()
    if not text:
        raise ValueError("the figures cell has no output: was the notebook executed?")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("the figures cell did not print a JSON object")
    return data


# --------------------------------------------------------------------------- hygiene


@dataclass(frozen=True, slots=True)
class Leak:
    """Something in a notebook that must not be there. ``excerpt`` is redacted."""

    cell: int | None  # cell index, None for notebook metadata
    kind: Literal["secret", "env_secret", "absolute_path"]
    excerpt: str

    def __str__(self) -> str:
        where = "metadata" if self.cell is None else f"cell {self.cell}"
        return f"{where}: {self.kind}: {self.excerpt}"


# name = "value" / name: value / Authorization: Bearer value, where name looks like a credential.
_ASSIGNED_SECRET = re.compile(
    r"""(?ix)
    (?:api[_-]?key|apikey|x-api-key|access[_-]?token|auth[_-]?token|secret|password|bearer)
    ["']?\s*(?:[:=]|\s)\s*["']?
    (?P<value>[A-Za-z0-9_\-./+]{12,})
    """
)
# Shapes of real provider/vendor keys.
_KEY_SHAPES = re.compile(r"\b(?:sk-[A-Za-z0-9_\-]{16,}|ghp_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16})\b")
# Absolute paths into home/work/system directories (POSIX) and drive paths (Windows).
_ABS_PATH = re.compile(
    r"(?<![\w.:/])(?:/(?:home|root|Users|tmp|work|var|opt|private|mnt|srv|usr)/[^\s\"'<>]+"
    r"|[A-Za-z]:\\\\?[^\s\"'<>]+)"
)
_ENV_SECRET_NAME = re.compile(r"(?i)(_API_KEY|_TOKEN|_SECRET|_PASSWORD)$")
# Values that are clearly not secrets even when assigned to a key-like name.
_NOT_A_SECRET = re.compile(r"(?i)^(os\.environ|getenv|none|null|true|false|environ)")
# Output payloads that are binary or carry random ids (widget model ids), not text a person reads.
_SKIPPED_MIME = ("image/", "application/vnd.jupyter.widget-view+json", "application/pdf")


def _keylike(value: str) -> bool:
    """A value that can be a real key: long enough and not a plain word or flag (so a
    ``SOME_TOKEN=enabled`` in the environment cannot match ordinary text)."""
    mixed = any(c.isdigit() for c in value) or (value.lower() != value != value.upper())
    return len(value) >= 10 and mixed and " " not in value


def _redact(text: str) -> str:
    text = text.strip()
    return text[:4] + "…" if len(text) > 8 else "…"


def _texts(nb: Mapping[str, Any]) -> Iterator[tuple[int | None, str]]:
    """Every human-readable string in a notebook: metadata, sources and text outputs."""
    metadata = dict(nb.get("metadata", {}))
    metadata.pop("widgets", None)  # widget state: model ids and binary buffers
    yield None, json.dumps(metadata)
    for index, cell in enumerate(nb.get("cells", [])):
        source = cell.get("source", "")
        yield index, source if isinstance(source, str) else "".join(source)
        yield index, json.dumps(cell.get("metadata", {}))
        for output in cell.get("outputs", []):
            if "text" in output:
                text = output["text"]
                yield index, text if isinstance(text, str) else "".join(text)
            for mime, payload in output.get("data", {}).items():
                if mime.startswith(_SKIPPED_MIME):
                    continue
                yield index, payload if isinstance(payload, str) else json.dumps(payload)
            if "traceback" in output:
                yield index, "\n".join(output["traceback"])


def find_leaks(
    notebook: str | os.PathLike[str] | Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
) -> list[Leak]:
    """Key-like strings and absolute machine paths in a notebook (sources, outputs, metadata).

    Checks: values assigned to credential-like names (``api_key = "…"``,
    ``Authorization: Bearer …``); known key shapes (``sk-…``, ``AKIA…``); the value of every
    environment variable named like a secret (``*_API_KEY``, ``*_TOKEN``, …) in ``environ``
    (default: this process's environment); absolute paths into home, work or system folders.
    Images and widget ids are not scanned.

    Example:
        >>> nb = {"cells": [{"cell_type": "code", "source": 'api_key = "abcd1234efgh5678"'}]}
        >>> [leak.kind for leak in find_leaks(nb, environ={})]
        ['secret']
    """
    nb = _read(notebook) if isinstance(notebook, (str, os.PathLike)) else notebook
    env = os.environ if environ is None else environ
    env_secrets = [
        value for name, value in env.items() if _ENV_SECRET_NAME.search(name) and _keylike(value)
    ]
    leaks: list[Leak] = []
    for cell, text in _texts(nb):
        for match in _ASSIGNED_SECRET.finditer(text):
            value = match.group("value")
            # Keys mix letters and digits; prose ("Bearer authentication") and env var names
            # (HUNTER_API_KEY) do not.
            looks_like_key = any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
            if looks_like_key and not _NOT_A_SECRET.match(value) and not value.isupper():
                leaks.append(Leak(cell, "secret", _redact(match.group(0))))
        for match in _KEY_SHAPES.finditer(text):
            leaks.append(Leak(cell, "secret", _redact(match.group(0))))
        for value in env_secrets:
            if value in text:
                leaks.append(Leak(cell, "env_secret", _redact(value)))
        for match in _ABS_PATH.finditer(text):
            leaks.append(Leak(cell, "absolute_path", match.group(0)[:60]))
    return leaks


def _is_checked(cell: Mapping[str, Any]) -> bool:
    source = cell.get("source", "")
    source = source if isinstance(source, str) else "".join(source)
    tags = cell.get("metadata", {}).get("tags", [])
    return "NBVAL_CHECK_OUTPUT" in source or "nbval-check-output" in tags


def strip_outputs(nb: nbformat.NotebookNode, *, keep_checked: bool = True) -> nbformat.NotebookNode:
    """Make a notebook fit to commit: no outputs or execution counts (except, with
    ``keep_checked``, cells marked ``# NBVAL_CHECK_OUTPUT``, whose outputs nbval compares), no
    widget state and no run metadata. Modifies and returns ``nb``."""
    scrub_notebook(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if keep_checked and _is_checked(cell):
            continue
        cell.outputs = []
        cell.execution_count = None
    return nb


# --------------------------------------------------------------------------- running


@dataclass(frozen=True, slots=True)
class NotebookRun:
    """An executed, scrubbed notebook under ``data/runs/`` and the figures it recorded."""

    notebook: Path
    figures: dict[str, Any]
    figures_path: Path
    html: Path | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


class NotebookRunError(RuntimeError):
    """A notebook failed; the scrubbed output notebook (with the error) is at ``.notebook``."""

    def __init__(self, message: str, notebook: Path) -> None:
        super().__init__(message)
        self.notebook = notebook


class NotebookLeakError(RuntimeError):
    """An executed notebook contained a key-like string or an absolute path; it was deleted."""

    def __init__(self, leaks: list[Leak]) -> None:
        super().__init__(
            "the executed notebook contained things that must not be in a report, so it was "
            "deleted:\n  " + "\n  ".join(str(leak) for leak in leaks[:10])
        )
        self.leaks = leaks


def _read(notebook: str | os.PathLike[str] | nbformat.NotebookNode) -> nbformat.NotebookNode:
    import nbformat

    if isinstance(notebook, (str, os.PathLike)):
        return nbformat.read(os.fspath(notebook), as_version=4)
    return notebook


def scrub_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove what papermill adds to an output notebook: the ``injected-parameters`` cell (it
    holds every parameter in plain text), its error banners, and run metadata on the notebook
    and on every cell. Modifies and returns ``nb``."""
    nb.metadata.pop("papermill", None)
    dropped = {"injected-parameters", "papermill-error-cell-tag"}
    nb.cells = [c for c in nb.cells if not dropped & set(c.get("metadata", {}).get("tags", []))]
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    return nb


def run_notebook(
    notebook: str | os.PathLike[str],
    *,
    parameters: Mapping[str, Any] | None = None,
    out_dir: str | os.PathLike[str] = "data/runs",
    name: str | None = None,
    html: bool = False,
    kernel_name: str = "python3",
    timeout: float = 600,
) -> NotebookRun:
    """Run a parameterized notebook with papermill as a report, safely.

    The output ``<out_dir>/<name>.ipynb`` is scrubbed of papermill's injected parameters and
    metadata, checked with :func:`find_leaks` (and deleted, raising :class:`NotebookLeakError`,
    if anything key-like or an absolute path is in it), and its recorded figures are written to
    ``<out_dir>/<name>.figures.json``. With ``html`` a static HTML report without code goes
    beside it.

    Args:
        notebook: the notebook (path relative to the project root is fine).
        parameters: values for the notebook's ``parameters`` cell. Never credentials: a name
            that looks like one (``api_key``, ``token``…) is refused — keys come from env vars.
        out_dir: where the outputs go (relative paths from the project root).
        name: output stem (default: the notebook's stem).
        html: also write ``<name>.html`` (code hidden, charts as embedded PNG).
        kernel_name: Jupyter kernel to run.
        timeout: seconds allowed per cell.

    Raises:
        ValueError: a parameter name looks like a credential.
        NotebookRunError: a cell failed (the scrubbed output is kept for inspection).
        NotebookLeakError: the output contained a key-like string or an absolute path.
    """
    import nbformat
    import papermill as pm

    params = dict(parameters or {})
    secret_names = sorted(k for k in params if _SECRET_NAME.search(k))
    if secret_names:
        raise ValueError(
            f"refusing notebook parameters {secret_names}: papermill writes parameters in plain "
            "text into the output notebook. Put API keys in environment variables (e.g. "
            "HUNTER_API_KEY) or a git-ignored .env instead."
        )
    source = resolve_path(notebook)
    if not source.is_file():
        raise FileNotFoundError(f"notebook not found: {display_path(source)}")
    target_dir = resolve_path(out_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    stem = name or source.stem
    target = target_dir / f"{stem}.ipynb"

    failure: Exception | None = None
    with tempfile.TemporaryDirectory(prefix="gtmkit-nb-") as scratch:
        raw = Path(scratch) / target.name  # unscrubbed output never lands in out_dir
        try:
            pm.execute_notebook(
                str(source),
                str(raw),
                parameters=params,
                kernel_name=kernel_name,
                language="python",
                progress_bar=False,
                cwd=str(source.parent),
                execution_timeout=timeout,
            )
        except pm.PapermillExecutionError as exc:
            failure = exc
        nb = scrub_notebook(nbformat.read(str(raw), as_version=4))
    # A failed run is kept for debugging (its traceback has machine paths), unless it would
    # keep a secret.
    leaks = find_leaks(nb)
    secrets = [leak for leak in leaks if leak.kind != "absolute_path"]
    if (failure is None and leaks) or secrets:
        target.unlink(missing_ok=True)
        raise NotebookLeakError(secrets or leaks)
    nbformat.write(nb, str(target))
    if failure is not None:
        error = getattr(failure, "ename", "error")
        value = getattr(failure, "evalue", str(failure))
        raise NotebookRunError(
            f"{source.name} failed: {error}: {value} (output: {display_path(target)})", target
        ) from None

    figures = read_figures(nb)
    figures_path = target_dir / f"{stem}.figures.json"
    figures_path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    html_path = None
    if html:
        html_path = target_dir / f"{stem}.html"
        html_path.write_text(_to_html(nb), encoding="utf-8")
    return NotebookRun(target, figures, figures_path, html_path, params)


def _to_html(nb: nbformat.NotebookNode) -> str:
    from nbconvert import HTMLExporter

    # Code hidden; no MathJax/require.js/mermaid from a CDN (a report must render offline).
    exporter = HTMLExporter(
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        mathjax_url="",
        require_js_url="",
        mermaid_js_url="",
    )
    body, _ = exporter.from_notebook_node(nb)
    return body


# --------------------------------------------------------------------------- intake display


class UploadTooLarge(ValueError):
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


def accuracy_by_source(records: Any, truth: Any) -> Any:
    """How many enriched emails are right, per source provider, judged against a truth frame.

    Args:
        records: ``WaterfallResult.records`` (``row_id``, ``email``, ``email_source``).
        truth: ``row_id`` and ``true_email`` (the person's current work address), e.g. a
            sample's ``<name>.truth.csv``.

    Returns:
        One row per ``email_source`` (plus ``"input"`` for emails the list already had):
        ``emails``, ``judged`` (rows whose truth is known), ``correct``, ``accuracy``.

    Example:
        >>> import polars as pl
        >>> records = pl.DataFrame({"row_id": [0, 1, 2], "email": ["a@x.io", "b@y.io", None],
        ...     "email_source": ["hunter", "hunter", None]})
        >>> truth = pl.DataFrame({"row_id": [0, 1], "true_email": ["a@x.io", "bo@y.io"]})
        >>> accuracy_by_source(records, truth).row(0)
        ('hunter', 2, 2, 1, 0.5)
    """
    import polars as pl

    truth = truth.select(
        pl.col("row_id").cast(pl.Int64), pl.col("true_email").cast(pl.String).str.to_lowercase()
    )
    found = records.filter(pl.col("email").is_not_null()).select(
        pl.col("row_id").cast(pl.Int64),
        pl.col("email").str.to_lowercase(),
        pl.col("email_source").fill_null("input").alias("source"),
    )
    joined = found.join(truth, on="row_id", how="left")
    known = pl.col("true_email").is_not_null() & (pl.col("true_email") != "")
    return (
        joined.group_by("source")
        .agg(
            pl.len().alias("emails"),
            known.sum().alias("judged"),
            (known & (pl.col("email") == pl.col("true_email"))).sum().alias("correct"),
        )
        .with_columns((pl.col("correct") / pl.col("judged")).alias("accuracy"))
        .sort("source")
    )


# --------------------------------------------------------------------------- upload widget


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
        from gtmkit.lists import ListError, export_csv, load_list

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
            except (UploadTooLarge, ListError) as exc:
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


# --------------------------------------------------------------------------- maintenance


def refresh_checked_outputs(
    notebook: str | os.PathLike[str], *, kernel_name: str = "python3", timeout: float = 600
) -> list[str]:
    """Re-execute a committed notebook with its default parameters and store only the outputs
    of ``# NBVAL_CHECK_OUTPUT`` cells (what ``pytest --nbval-lax`` compares); every other output,
    execution count and run metadata is dropped. Run it after a deliberate change of the figures
    (e.g. a recalibrated simulated world): ``python -m gtmkit.notebook refresh notebooks/*.ipynb``.

    Returns:
        The new text of each checked cell's output, in order.

    Raises:
        NotebookLeakError: the refreshed notebook would contain a key-like string or an
            absolute path (nothing is written).
    """
    import nbformat
    from nbclient import NotebookClient

    path = resolve_path(notebook)
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=kernel_name,
        timeout=int(timeout),
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    strip_outputs(nb, keep_checked=True)
    leaks = find_leaks(nb)
    if leaks:
        raise NotebookLeakError(leaks)
    nbformat.write(nb, str(path))
    return [_cell_text(c) for c in nb.cells if c.cell_type == "code" and _is_checked(c)]


def main(argv: list[str] | None = None) -> int:
    """``python -m gtmkit.notebook refresh NOTEBOOK...`` | ``run NOTEBOOK [-p NAME VALUE]...``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m gtmkit.notebook")
    commands = parser.add_subparsers(dest="command", required=True)
    refresh = commands.add_parser("refresh", help="re-store the NBVAL_CHECK_OUTPUT outputs")
    refresh.add_argument("notebooks", nargs="+")
    run = commands.add_parser("run", help="run a notebook as a scrubbed report under data/runs/")
    run.add_argument("notebook")
    run.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    run.add_argument("--out", default="data/runs")
    run.add_argument("--html", action="store_true", help="also write an HTML report")
    args = parser.parse_args(argv)
    if args.command == "refresh":
        for notebook in args.notebooks:
            outputs = refresh_checked_outputs(notebook)
            print(f"{display_path(resolve_path(notebook))}: {len(outputs)} checked cell(s)")
            for text in outputs:
                print("  " + text.rstrip().replace("\n", "\n  "))
        return 0
    params = {name: _parse_value(value) for name, value in args.p}
    result = run_notebook(args.notebook, parameters=params, out_dir=args.out, html=args.html)
    print(f"report: {display_path(result.notebook)}")
    print(json.dumps(result.figures, indent=2, sort_keys=True))
    return 0


def _parse_value(text: str) -> Any:
    """A ``-p`` value as papermill's CLI reads it: JSON when it parses (numbers, lists,
    true/false/null), else the plain string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


if __name__ == "__main__":
    raise SystemExit(main())
