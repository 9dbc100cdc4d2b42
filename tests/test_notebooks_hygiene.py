"""Committed notebooks are clean, and the hygiene helpers in gtmkit.notebook do their job.

Committed notebooks: one ``parameters`` cell, a last cell tagged ``figures``, no outputs except
cells marked ``# NBVAL_CHECK_OUTPUT``, no run metadata, nothing key-like, no absolute paths.
"""

from __future__ import annotations

import doctest
import json
from datetime import UTC, datetime

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

import gtmkit.notebook as gnb
from tests._notebooks_helpers import NOTEBOOKS, NOTEBOOKS_DIR, ROOT


def _load(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS_DIR / name, as_version=4)


def test_every_notebook_is_committed() -> None:
    present = sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb"))
    assert present == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_is_clean(name: str) -> None:
    nb = _load(name)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert "papermill" not in nb.metadata and "widgets" not in nb.metadata
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert sum("parameters" in t for t in tags) == 1, "exactly one cell tagged 'parameters'"
    assert "figures" in tags[-1] and nb.cells[-1].cell_type == "code"
    assert "record_figures(" in nb.cells[-1].source
    for index, cell in enumerate(nb.cells):
        assert "papermill" not in cell.metadata and "execution" not in cell.metadata
        if cell.cell_type != "code":
            continue
        if "NBVAL_CHECK_OUTPUT" in cell.source:
            assert cell.outputs, f"cell {index} is checked by nbval but has no stored output"
            kinds = {o.output_type for o in cell.outputs}
            assert kinds <= {"stream", "execute_result"}, f"cell {index}: {kinds}"
        else:
            assert cell.outputs == [], f"cell {index} has outputs committed"
            assert cell.execution_count is None
    assert gnb.find_leaks(nb, environ={}) == []


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_parameters_are_cheap_offline_defaults(name: str) -> None:
    """Parameters hold no credentials and point at bundled data, never at a machine path."""
    nb = _load(name)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    namespace: dict[str, object] = {}
    exec(cell.source, namespace)  # a parameters cell is plain assignments
    params = {k: v for k, v in namespace.items() if not k.startswith("__")}
    assert params, "the parameters cell assigns nothing"
    for key, value in params.items():
        assert not gnb._SECRET_NAME.search(key), f"credential-like parameter {key!r}"
        if isinstance(value, str) and value.startswith("data/samples/"):
            assert (ROOT / value).exists(), f"{key} points at a missing sample: {value}"
        if isinstance(value, str):
            assert not value.startswith("/"), f"{key} is an absolute path"
    if "mode" in params:
        assert params["mode"] == "sandbox"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_charts_render_statically(name: str) -> None:
    """Notebooks that chart enable the PNG renderer (static, offline) without leaking a repr."""
    source = "\n".join(c.source for c in _load(name).cells if c.cell_type == "code")
    if "charts." in source or "import altair" in source:
        assert '_ = alt.renderers.enable("png")' in source


def test_code_never_touches_keys_or_progress_widgets() -> None:
    for name in NOTEBOOKS:
        code = "\n".join(c.source for c in _load(name).cells if c.cell_type == "code")
        assert "tqdm.auto" not in code  # a widget: shows nothing in a static report
        # Keys are read from the environment by the adapters, never by notebook code.
        assert "API_KEY" not in code and "environ" not in code and "getenv" not in code
        if "wf.run(" in code or "compare(" in code:
            assert "progress=False" in code


# ----------------------------------------------------------------- helper behaviour


def test_doctests() -> None:
    result = doctest.testmod(gnb)
    assert result.attempted >= 4 and result.failed == 0


def _nb_with(source: str, outputs: list | None = None) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.outputs = outputs or []
    return new_notebook(cells=[cell])


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
    leaks = gnb.find_leaks(_nb_with(text), environ={})
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
    assert gnb.find_leaks(_nb_with(text), environ={}) == []


def test_find_leaks_scans_outputs_and_env_values_but_not_images() -> None:
    secret = "zq8-not-a-real-key-77"
    stream = new_output("stream", name="stdout", text=f"using {secret}\n")
    image = new_output("display_data", data={"image/png": "L2hvbWUvYWxpY2Uv" + secret})
    nb = _nb_with("print(x)", [stream, image])
    env = {"ACME_API_KEY": secret, "HOME": "/root", "FEATURE_TOKEN": "using"}
    leaks = gnb.find_leaks(nb, environ=env)
    assert [(leak.cell, leak.kind) for leak in leaks] == [(0, "env_secret")]


def test_strip_outputs_keeps_only_checked_cells() -> None:
    out = new_output("stream", name="stdout", text="42\n")
    checked = new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(42)", execution_count=1, outputs=[out])
    other = new_code_cell("print(1)", execution_count=2, outputs=[out])
    other.metadata["papermill"] = {"duration": 1.0}
    nb = new_notebook(cells=[checked, other])
    nb.metadata["widgets"] = {"state": {}}
    nb.metadata["papermill"] = {"parameters": {"x": 1}}
    gnb.strip_outputs(nb)
    assert nb.cells[0].outputs == [out] and nb.cells[1].outputs == []
    assert nb.cells[1].execution_count is None and "papermill" not in nb.cells[1].metadata
    assert "widgets" not in nb.metadata and "papermill" not in nb.metadata


def test_scrub_removes_injected_parameters() -> None:
    params = new_code_cell("budget = 10", metadata={"tags": ["parameters"]})
    injected = new_code_cell("budget = 987654\n", metadata={"tags": ["injected-parameters"]})
    nb = new_notebook(cells=[params, injected, new_code_cell("x = 1")])
    nb.metadata["papermill"] = {"parameters": {"budget": 987654}}
    gnb.scrub_notebook(nb)
    assert [c.source for c in nb.cells] == ["budget = 10", "x = 1"]
    assert "987654" not in json.dumps(nb)


@pytest.mark.parametrize(
    "name", ["api_key", "HUNTER_TOKEN", "pdl_secret", "password", "authorization", "auth_header"]
)
def test_run_notebook_refuses_credential_parameters(name: str) -> None:
    with pytest.raises(ValueError, match="environment variables"):
        gnb.run_notebook("notebooks/01_list_intake.ipynb", parameters={name: "x"})


def test_ordinary_parameter_names_are_not_mistaken_for_credentials() -> None:
    for name in ("author", "authors", "budget_credits", "path", "providers", "segment_by"):
        assert gnb._SECRET_NAME.search(name) is None, name


def test_read_figures_needs_an_executed_figures_cell() -> None:
    cell = new_code_cell("record_figures({})", metadata={"tags": ["figures"]})
    with pytest.raises(ValueError, match="executed"):
        gnb.read_figures(new_notebook(cells=[cell]))
    cell.outputs = [new_output("stream", name="stdout", text='{"rows": 3}\n')]
    assert gnb.read_figures(new_notebook(cells=[cell])) == {"rows": 3}
    with pytest.raises(ValueError, match="tagged"):
        gnb.read_figures(new_notebook(cells=[new_code_cell("1")]))


def test_record_figures_is_stable_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = gnb.record_figures({"b": 1 / 3, "a": {"z": float("nan"), "n": 2}, "s": {"y", "x"}})
    printed = capsys.readouterr().out
    assert json.loads(printed) == data == {"a": {"n": 2, "z": None}, "b": 0.3333, "s": ["x", "y"]}
    assert printed.index('"a"') < printed.index('"b"')


def test_upload_size_limit_message() -> None:
    gnb.check_upload_size("ok.csv", gnb.UPLOAD_LIMIT_BYTES)
    with pytest.raises(gnb.UploadTooLarge, match=r"big\.xlsx is 12\.0 MB.*`path` parameter"):
        gnb.check_upload_size("big.xlsx", 12 * 1024 * 1024)


def test_paths_resolve_from_anywhere_and_display_relative(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert gnb.project_root() == ROOT
    assert gnb.resolve_path("pyproject.toml") == ROOT / "pyproject.toml"
    assert gnb.display_path(ROOT / "data" / "samples") == "data/samples"
    assert gnb.display_path("/somewhere/else/list.csv") == "list.csv"


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
    assert gnb._parse_value(text) == value


# ----------------------------------------------------------------- upload widget (no browser)


def _upload(panel: gnb.IntakeUpload, name: str, content: bytes, size: int | None = None) -> None:
    item = {"name": name, "type": "text/csv", "size": len(content) if size is None else size}
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    panel.upload.value = ({**item, "content": memoryview(content), "last_modified": stamp},)


def test_upload_widget_loads_shows_and_exports(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    panel = gnb.intake_upload(export_dir=tmp_path)
    panel.button.click()
    assert "Choose a file first" in capsys.readouterr().out
    _upload(panel, "leads.csv", b"First Name,Email\nAnn,ann@acme.com\n,\nAnn,ANN@acme.com\n")
    panel.button.click()
    shown = capsys.readouterr().out
    assert "leads.csv: 3 rows -> 2 accepted, 1 rejected, 1 duplicates" in shown
    assert "Column mapping" in shown and "Exported clean records to" in shown
    assert panel.loaded is not None and panel.loaded.records.height == 2
    assert panel.exported == tmp_path / "leads.clean.csv" and panel.exported.exists()


def test_upload_widget_says_when_a_file_is_too_large(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    panel = gnb.intake_upload(export_dir=tmp_path, limit=1000)
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


def test_upload_widget_reports_a_bad_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    panel = gnb.intake_upload(export_dir=tmp_path)
    _upload(panel, "garbage.csv", bytes(range(256)) * 8)
    panel.button.click()
    shown = capsys.readouterr().out
    assert "Could not load garbage.csv: " in shown and "Traceback" not in shown
    assert panel.loaded is None
