"""Committed notebooks are clean, and stay clean by themselves.

Clean: named ``NN-name.ipynb``; one ``parameters`` cell; a last cell tagged ``figures``; no
outputs or execution counts except in cells marked ``# NBVAL_CHECK_OUTPUT`` (which keep both:
nbval needs them); no run metadata, widget state, key-like strings, absolute paths or email
addresses. Every failure names the command that fixes it.

By themselves: ``make install`` / ``make lab`` install nbstripout as a git filter
(``.gitattributes``, ``gtmkit/gitfilter.py``), so running a notebook in JupyterLab and letting
it autosave leaves the outputs in the working file but never in what ``git add`` stores. That
is tested in a throwaway copy of the project (``make git-filters`` there), never in this
repository.
(What the helpers in ``gtmkit.reports`` do is in ``test_notebooks_reports.py``.)
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

import gtmkit
from gtmkit.reports import find_leaks, is_checked, notebook_parameters
from gtmkit.reports.leaks import SECRET_PARAMETER_NAME
from tests._lab_helpers import project_copy, run_make
from tests._notebooks_helpers import NOTEBOOKS, NOTEBOOKS_DIR, ROOT, hermetic_jupyter

#: The one command that strips a notebook the way the git filter does.
FIX = "make notebooks-clean"
#: The one command that re-stores the outputs of the checked cells.
REFRESH = "make notebooks-refresh"
NAME = re.compile(r"^\d{2}-[a-z0-9]+(?:-[a-z0-9]+)*\.ipynb$")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
KEEP = "keep_output"


def _load(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS_DIR / name, as_version=4)


def problems(nb: nbformat.NotebookNode, name: str) -> list[str]:
    """What is wrong with a notebook about to be committed, each with what to do about it."""
    found: list[str] = []
    strip = f"{name}: {{}} — run `{FIX}` (strips it as the git filter does)"
    if "widgets" in nb.metadata or "papermill" in nb.metadata:
        found.append(strip.format("widget state or papermill metadata is saved"))
    for index, cell in enumerate(nb.cells):
        if "papermill" in cell.metadata or "execution" in cell.metadata:
            found.append(strip.format(f"cell {index} has run metadata"))
        if cell.cell_type != "code":
            continue
        tagged = KEEP in cell.metadata.get("tags", []) or cell.metadata.get(KEEP) is True
        if tagged and not is_checked(cell):
            found.append(
                f"{name}: cell {index} is tagged {KEEP} but nbval does not check it, so the git "
                f"filter would commit its output — remove the tag, then run `{FIX}`"
            )
        if is_checked(cell):
            kinds = {o.output_type for o in cell.outputs}
            if not cell.outputs:
                found.append(
                    f"{name}: cell {index} is checked by nbval but has no stored output — run "
                    f"`{REFRESH}`"
                )
            elif not kinds <= {"stream", "execute_result"}:
                found.append(f"{name}: cell {index} stores {sorted(kinds)} — print plain text")
            elif cell.execution_count is None:  # nbval: "Unrun reference cell has outputs"
                found.append(strip.format(f"checked cell {index} has outputs but no count"))
        elif cell.outputs:
            found.append(strip.format(f"cell {index} has outputs committed"))
        elif cell.execution_count is not None:
            found.append(strip.format(f"cell {index} has an execution count"))
        for output in cell.outputs:
            if EMAIL.search(json.dumps(output)):
                found.append(strip.format(f"cell {index} has an email address in its output"))
    found += [f"{name}: {leak}" for leak in find_leaks(nb, environ={})]
    return found


def test_notebooks_are_named_nn_name() -> None:
    assert {"01-list-intake.ipynb", "03-compare-providers.ipynb"} <= set(NOTEBOOKS)
    assert "04-benchmark-combinations.ipynb" in NOTEBOOKS
    badly_named = [name for name in NOTEBOOKS if not NAME.match(name)]
    assert badly_named == [], f"notebooks are named NN-name.ipynb (git mv them): {badly_named}"
    numbers = [name[:2] for name in NOTEBOOKS]
    assert len(numbers) == len(set(numbers)), f"two notebooks share a number: {NOTEBOOKS}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_is_clean(name: str) -> None:
    nb = _load(name)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    # the name `make install` gives the kernel: Lab rewrites any other one on save
    assert nb.metadata.kernelspec.display_name == "Python 3 (ipykernel)"
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert sum("parameters" in t for t in tags) == 1, "exactly one cell tagged 'parameters'"
    assert "figures" in tags[-1] and nb.cells[-1].cell_type == "code"
    assert "record_figures(" in nb.cells[-1].source
    found = problems(nb, name)
    assert found == [], "\n".join(found)


def test_the_check_finds_a_notebook_run_in_lab_and_names_the_fix() -> None:
    """What autosave leaves behind (outputs, counts, widget state, lead emails) is caught."""
    nb = _load("01-list-intake.ipynb")
    code = [c for c in nb.cells if c.cell_type == "code" and not is_checked(c)]
    code[0].execution_count = 3
    code[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="ann.lee@example.com\n")
    ]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    found = problems(nb, "01-list-intake.ipynb")
    assert len(found) == 3, found
    assert all(f"run `{FIX}`" in line for line in found)
    code[1].metadata["tags"] = [KEEP]
    code[2].execution_count = 5
    checked = next(c for c in nb.cells if is_checked(c))
    checked.execution_count = None
    more = problems(nb, "01-list-intake.ipynb")[len(found) :]
    assert len(more) == 3, more
    assert [f"tagged {KEEP}" in more[0], "execution count" in more[1], "no count" in more[2]] == (
        [True, True, True]
    ), more


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
        if isinstance(value, str) and value.startswith(("data/samples/", "patterns/")):
            assert (ROOT / value).exists(), f"{key} points at a missing file: {value}"
        if isinstance(value, str):
            assert not value.startswith("/"), f"{key} is an absolute path"
    if "mode" in params:
        assert params["mode"] == "sandbox"
    if "write_back" in params:
        assert params["write_back"] is False, "a default run never edits a committed entry"
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


# ------------------------------------------------------------------ the git filter


def _git(project: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=project, check=True, capture_output=True, text=True)
    return done.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with the git filter installed the way ``make install`` does."""
    root = project_copy(tmp_path_factory.mktemp("hygiene"))
    assert "git filter installed" in run_make(root, "git-filters")
    return root


def test_make_installs_nbstripout_as_the_notebook_filter(project: Path) -> None:
    assert _git(project, "check-attr", "filter", "notebooks/01-list-intake.ipynb").strip() == (
        "notebooks/01-list-intake.ipynb: filter: nbstripout"
    )
    clean = _git(project, "config", "filter.nbstripout.clean").strip()
    assert clean == ".venv/bin/python -m gtmkit.gitfilter"  # each work tree's own venv
    assert _git(project, "config", "filter.nbstripout.required").strip() == "true"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_is_what_the_filter_stores(project: Path, name: str) -> None:
    """`git add` through the filter changes nothing: checked outputs kept, nothing else."""
    path = f"notebooks/{name}"
    stored = subprocess.run(
        ["git", "hash-object", "--path", path, "--stdin"],
        cwd=project,
        input=(NOTEBOOKS_DIR / name).read_bytes(),
        capture_output=True,
        check=True,
    )
    raw = _git(project, "hash-object", "--no-filters", path).strip()
    assert stored.stdout.decode().strip() == raw, (
        f"the git filter would change {path} — run `{FIX}` and commit the result"
    )


def test_lab_autosave_leaves_no_lead_emails_in_what_git_add_stores(project: Path) -> None:
    """Run notebook 01 the way Lab does (outputs and widget state saved into the file), then
    `git add` it: the stored notebook is the committed one; the working file keeps its outputs."""
    from nbclient import NotebookClient

    path = project / "notebooks" / "01-list-intake.ipynb"
    committed = path.read_bytes()
    nb = nbformat.read(path, as_version=4)
    with hermetic_jupyter(project / ".jupyter"):
        NotebookClient(
            nb,
            kernel_name="python3",
            timeout=300,
            store_widget_state=True,
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    nbformat.write(nb, path)  # what Lab's autosave writes
    saved = path.read_text(encoding="utf-8")
    (params,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    namespace: dict[str, object] = {}
    exec(params.source, namespace)
    leads = gtmkit.load_list(ROOT / str(namespace["path"])).records
    emails = [e for e in leads["email"].drop_nulls().to_list() if e in saved]
    assert emails, "the executed notebook should show lead emails (else this proves nothing)"
    assert "application/vnd.jupyter.widget-state+json" in saved

    _git(project, "add", "notebooks/01-list-intake.ipynb")
    staged = _git(project, "show", ":notebooks/01-list-intake.ipynb")
    assert [e for e in emails if e in staged] == []
    assert "widget-state" not in staged
    assert staged.encode() == committed  # only the checked cell's output stays, as committed
    assert _git(project, "status", "--porcelain", "notebooks") == ""
    assert path.read_text(encoding="utf-8") == saved  # the work in the file is not lost

    # And the one command the hygiene check names makes the working file clean as well.
    run_make(project, "notebooks-clean")
    assert path.read_bytes() == committed
    assert problems(nbformat.read(path, as_version=4), path.name) == []
