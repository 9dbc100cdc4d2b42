"""Committed notebooks are clean: one ``parameters`` cell, a last cell tagged ``figures``, no
outputs except cells marked ``# NBVAL_CHECK_OUTPUT``, no run metadata, nothing key-like, no
absolute paths. (What the helpers in ``gtmkit.reports`` do is in ``test_notebooks_reports.py``.)
"""

from __future__ import annotations

import nbformat
import pytest

from gtmkit.reports import find_leaks, notebook_parameters
from gtmkit.reports.leaks import SECRET_PARAMETER_NAME
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
    assert find_leaks(nb, environ={}) == []


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
        assert not SECRET_PARAMETER_NAME.search(key), f"credential-like parameter {key!r}"
        if isinstance(value, str) and value.startswith("data/samples/"):
            assert (ROOT / value).exists(), f"{key} points at a missing sample: {value}"
        if isinstance(value, str):
            assert not value.startswith("/"), f"{key} is an absolute path"
    if "mode" in params:
        assert params["mode"] == "sandbox"
    # The report runner accepts exactly the names this cell assigns.
    assert list(notebook_parameters(nb)) == list(params)


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
