"""The report helpers in ``gtmkit.reports`` do their job without a kernel: leak scanning,
scrubbing, figures, the parameter checks of the runner, atomic writes, the command line, and
the path helpers the notebooks use. (Real papermill runs are in ``test_notebooks_run.py``.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from gtmkit.errors import GtmkitError
from gtmkit.paths import display_path, project_root, resolve_path
from gtmkit.reports import (
    FiguresError,
    NotebookLeakError,
    NotebookNotFoundError,
    NotebookRunError,
    ReportParameterError,
    check_parameters,
    find_leaks,
    notebook_parameters,
    read_figures,
    record_figures,
    run_notebook,
    scrub_notebook,
    strip_outputs,
)
from gtmkit.reports.__main__ import main
from gtmkit.reports.leaks import SECRET_PARAMETER_NAME
from gtmkit.reports.notebook import write_notebook, write_text_atomic
from gtmkit.reports.parameters import parse_value
from tests._notebooks_helpers import NOTEBOOKS, NOTEBOOKS_DIR, ROOT


def _nb_with(source: str, outputs: list | None = None) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.outputs = outputs or []
    return new_notebook(cells=[cell])


def _with_parameters(tmp_path: Path, source: str) -> Path:
    cells = [
        new_markdown_cell("# a report"),
        new_code_cell(source, metadata={"tags": ["parameters"]}),
        new_code_cell("x = 1"),
    ]
    return write_notebook(new_notebook(cells=cells), tmp_path / "params.ipynb")


# ----------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (ReportParameterError, ValueError),
        (FiguresError, ValueError),
        (NotebookNotFoundError, FileNotFoundError),
        (NotebookRunError, RuntimeError),
        (NotebookLeakError, RuntimeError),
    ],
)
def test_every_report_error_is_a_gtmkit_error(error: type, builtin: type) -> None:
    assert issubclass(error, GtmkitError) and issubclass(error, builtin)


# ----------------------------------------------------------------- leaks


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('api_key = "3f9a8c7d6e5b4a39281706f5"', "secret"),
        ("headers = {'X-Api-Key': 'pk_live_abcdef1234567890'}", "secret"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9abc", "secret"),
        ("client = OpenAI(key='sk-abcdefghijklmnopqrstuvwx')", "secret"),
        ("df = pl.read_csv('/home/alice/clients/acme.csv')", "absolute_path"),
        ("see /work/main/data/runs/x.csv", "absolute_path"),
        (r"C:\\Users\\bob\\leads.xlsx", "absolute_path"),
    ],
)
def test_find_leaks_flags(text: str, kind: str) -> None:
    leaks = find_leaks(_nb_with(text), environ={})
    assert [leak.kind for leak in leaks] == [kind]
    assert "3f9a8c7d6e5b4a39281706f5" not in str(leaks[0])  # the report itself is redacted


@pytest.mark.parametrize(
    "text",
    [
        'api_key = os.environ["HUNTER_API_KEY"]',
        "key_var = 'HUNTER_API_KEY'",
        "path = 'data/samples/leads.csv'",
        "see https://api.hunter.io/v2/email-finder",
        "ratio = 3/4; path = '../data/x.csv'",
        "HTTP Bearer authentication; keep the secret credentials out of notebooks",
        "token = 'placeholder-value'",
    ],
)
def test_find_leaks_allows(text: str) -> None:
    assert find_leaks(_nb_with(text), environ={}) == []


def test_find_leaks_scans_outputs_and_env_values_but_not_images() -> None:
    secret = "zq8-not-a-real-key-77"
    stream = new_output("stream", name="stdout", text=f"using {secret}\n")
    image = new_output("display_data", data={"image/png": "L2hvbWUvYWxpY2Uv" + secret})
    nb = _nb_with("print(x)", [stream, image])
    env = {"ACME_API_KEY": secret, "HOME": "/root", "FEATURE_TOKEN": "using"}
    leaks = find_leaks(nb, environ=env)
    assert [(leak.cell, leak.kind) for leak in leaks] == [(0, "env_secret")]


# ----------------------------------------------------------------- scrubbing


def test_strip_outputs_keeps_only_checked_cells() -> None:
    out = new_output("stream", name="stdout", text="42\n")
    checked = new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(42)", execution_count=1, outputs=[out])
    other = new_code_cell("print(1)", execution_count=2, outputs=[out])
    other.metadata["papermill"] = {"duration": 1.0}
    nb = new_notebook(cells=[checked, other])
    nb.metadata["widgets"] = {"state": {}}
    nb.metadata["papermill"] = {"parameters": {"x": 1}}
    strip_outputs(nb)
    assert nb.cells[0].outputs == [out] and nb.cells[1].outputs == []
    assert nb.cells[1].execution_count is None and "papermill" not in nb.cells[1].metadata
    assert "widgets" not in nb.metadata and "papermill" not in nb.metadata
    strip_outputs(nb, keep_checked=False)
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count is None


def test_scrub_removes_injected_parameters_and_error_banners() -> None:
    params = new_code_cell("budget = 10", metadata={"tags": ["parameters"]})
    injected = new_code_cell("budget = 987654\n", metadata={"tags": ["injected-parameters"]})
    banner = new_markdown_cell("failed", metadata={"tags": ["papermill-error-cell-tag"]})
    work = new_code_cell("x = 1", metadata={"execution": {"start": "t"}, "papermill": {}})
    nb = new_notebook(cells=[banner, params, injected, work])
    nb.metadata["papermill"] = {"parameters": {"budget": 987654}}
    scrub_notebook(nb)
    assert [c.source for c in nb.cells] == ["budget = 10", "x = 1"]
    assert nb.cells[1].metadata == {}
    assert "987654" not in json.dumps(nb)


# ----------------------------------------------------------------- figures


def test_read_figures_needs_an_executed_figures_cell() -> None:
    cell = new_code_cell("record_figures({})", metadata={"tags": ["figures"]})
    with pytest.raises(FiguresError, match="executed"):
        read_figures(new_notebook(cells=[cell]))
    cell.outputs = [new_output("stream", name="stdout", text='{"rows": 3}\n')]
    assert read_figures(new_notebook(cells=[cell])) == {"rows": 3}
    cell.outputs = [new_output("stream", name="stdout", text='rows: 3\n{"rows": 3}\n')]
    with pytest.raises(FiguresError, match="besides its JSON"):
        read_figures(new_notebook(cells=[cell]))
    cell.outputs = [new_output("stream", name="stdout", text="[1, 2]\n")]
    with pytest.raises(FiguresError, match="JSON object"):
        read_figures(new_notebook(cells=[cell]))
    with pytest.raises(FiguresError, match="tagged"):
        read_figures(new_notebook(cells=[new_code_cell("1")]))


def test_record_figures_is_stable_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = record_figures({"b": 1 / 3, "a": {"z": float("nan"), "n": 2}, "s": {"y", "x"}})
    printed = capsys.readouterr().out
    assert json.loads(printed) == data == {"a": {"n": 2, "z": None}, "b": 0.3333, "s": ["x", "y"]}
    assert printed.index('"a"') < printed.index('"b"')


# ----------------------------------------------------------------- parameters


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_committed_notebook_declares_its_parameters(name: str) -> None:
    params = notebook_parameters(NOTEBOOKS_DIR / name)
    assert params and all(p.default for p in params.values())
    assert all(p.help for p in params.values()), "each parameter says what it is for"


def test_parameters_are_read_from_the_tagged_cell_only(tmp_path: Path) -> None:
    source = (
        'path = "data/x.csv"  # the list\n'
        "budget: float = 50.0\n"
        "low, high = 1, 2\n"
        "settings = {}\n"
        "settings['k'] = 1  # not a parameter: an item of one\n"
        "def helper():\n    hidden = 1\n"
    )
    params = notebook_parameters(_with_parameters(tmp_path, source))
    assert list(params) == ["path", "budget", "low", "high", "settings"]
    assert params["path"].default == '"data/x.csv"' and params["path"].help == "the list"
    assert params["budget"].default == "50.0" and params["budget"].help == ""
    assert "x" not in params and "hidden" not in params  # other cells, nested scopes


def test_unknown_parameter_is_refused_with_the_known_names(tmp_path: Path) -> None:
    notebook = _with_parameters(tmp_path, "path = 'a.csv'\nbudget_credits = 10.0\n")
    check_parameters(notebook, {"path": "b.csv", "budget_credits": 5})
    with pytest.raises(ReportParameterError) as info:
        check_parameters(notebook, {"budget_credit": 5, "path": "b.csv"})
    message = str(info.value)
    assert "['budget_credit']" in message and "budget_credits, path" in message


def test_run_notebook_refuses_an_unknown_parameter_before_running(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ReportParameterError, match=r"\['budjet_credits'\].*budget_credits"):
        run_notebook(
            NOTEBOOKS_DIR / "02-run-waterfall.ipynb", parameters={"budjet_credits": 5}, out_dir=out
        )
    assert not out.exists() or list(out.iterdir()) == []  # nothing ran, nothing written


def test_a_notebook_without_parameters_cell_takes_none(tmp_path: Path) -> None:
    notebook = write_notebook(new_notebook(cells=[new_code_cell("x = 1")]), tmp_path / "n.ipynb")
    check_parameters(notebook, {})
    with pytest.raises(ReportParameterError, match="no cell tagged 'parameters'"):
        check_parameters(notebook, {"x": 2})


def test_an_unreadable_parameters_cell_is_a_clear_error(tmp_path: Path) -> None:
    notebook = _with_parameters(tmp_path, "path = 'a.csv\n")
    with pytest.raises(ReportParameterError, match="not valid Python"):
        notebook_parameters(notebook)


@pytest.mark.parametrize(
    "name", ["api_key", "HUNTER_TOKEN", "pdl_secret", "password", "authorization", "auth_header"]
)
def test_run_notebook_refuses_credential_parameters(name: str) -> None:
    # Refused even though the notebook does not define the name: the key never reaches papermill
    with pytest.raises(ReportParameterError, match="environment variables"):
        run_notebook("notebooks/01-list-intake.ipynb", parameters={name: "x"})


def test_a_credential_parameter_the_notebook_defines_is_still_refused(tmp_path: Path) -> None:
    notebook = _with_parameters(tmp_path, "path = 'a.csv'\napi_key = ''\n")
    with pytest.raises(ReportParameterError, match="environment variables"):
        check_parameters(notebook, {"api_key": "k-123"})


def test_ordinary_parameter_names_are_not_mistaken_for_credentials() -> None:
    for name in ("author", "authors", "budget_credits", "path", "providers", "segment_by"):
        assert SECRET_PARAMETER_NAME.search(name) is None, name


def test_a_missing_notebook_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotebookNotFoundError, match=r"no_such\.ipynb"):
        run_notebook(tmp_path / "no_such.ipynb")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("50", 50),
        ("0.8", 0.8),
        ('["hunter", "pdl"]', ["hunter", "pdl"]),
        ("true", True),
        ("data/samples/leads_small.csv", "data/samples/leads_small.csv"),
        ("", ""),
    ],
)
def test_cli_parameter_values_parse_like_papermill(text: str, value: object) -> None:
    assert parse_value(text) == value


# ----------------------------------------------------------------- command line


def test_cli_lists_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["params", "notebooks/02-run-waterfall.ipynb"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" = ")[0] for line in lines] == list(
        notebook_parameters(NOTEBOOKS_DIR / "02-run-waterfall.ipynb")
    )
    assert any(line.startswith("budget_credits = 400.0  # ") for line in lines)


def test_cli_says_what_is_wrong_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "notebooks/02-run-waterfall.ipynb", "-p", "budjet", "5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown notebook parameter(s) ['budjet']")
    assert "budget_credits" in err
    assert main(["params", "notebooks/nope.ipynb"]) == 2
    assert "notebook not found: notebooks/nope.ipynb" in capsys.readouterr().err


# ----------------------------------------------------------------- files and paths


def test_writes_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.figures.json"
    write_text_atomic(target, "old\n")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_text_atomic(target, "new\n")
    # The old file is intact and no temporary file is left behind.
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.figures.json"]


def test_an_invalid_notebook_is_never_written(tmp_path: Path) -> None:
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    nb.cells[0]["outputs"] = [{"output_type": "no-such-output"}]
    with pytest.raises(nbformat.ValidationError):
        write_notebook(nb, tmp_path / "bad.ipynb")
    assert list(tmp_path.iterdir()) == []


def test_paths_resolve_from_anywhere_and_display_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert project_root() == ROOT
    assert resolve_path("pyproject.toml") == ROOT / "pyproject.toml"
    assert display_path(ROOT / "data" / "samples") == "data/samples"
    assert display_path("/somewhere/else/list.csv") == "list.csv"


def test_python_dash_m_gtmkit_reports_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gtmkit.reports", "params", "notebooks/01-list-intake.ipynb"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert [line.split(" = ")[0] for line in proc.stdout.splitlines()] == ["path", "out_dir"]
