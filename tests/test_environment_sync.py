"""environment.yml must mirror pyproject.toml: same dependencies, same lower bounds, and the
package itself installed through the ``pip:`` section."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$")
# conda-forge names that differ from the PyPI name
CONDA_TO_PYPI: dict[str, str] = {"redis-py": "redis"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirement(text: str) -> tuple[str, str | None]:
    """``"polars>=1.10"`` -> ``("polars", "1.10")``; the lower bound is None if unbounded."""
    match = _REQUIREMENT.match(text.split(";")[0])
    if match is None:
        raise ValueError(f"cannot parse requirement {text!r}")
    name, spec = match.groups()
    lower = re.search(r">=\s*([^,\s]+)", spec)
    return _canonical(CONDA_TO_PYPI.get(name, name)), lower.group(1) if lower else None


def pyproject() -> tuple[dict[str, str | None], dict[str, str | None]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    runtime = dict(parse_requirement(r) for r in project["dependencies"])
    test = dict(parse_requirement(r) for r in project["optional-dependencies"].get("test", []))
    return runtime, test


def environment() -> tuple[dict[str, str | None], list[str], str | None]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text("utf-8"))
    conda: dict[str, str | None] = {}
    pip: list[str] = []
    python = None
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            pip.extend(entry.get("pip", []))
            continue
        name, lower = parse_requirement(entry.replace(" ", ""))
        if name == "python":
            python = lower
        elif name != "pip":
            conda[name] = lower
    return conda, pip, python


def disagreements(pyproject_deps: dict[str, str | None], conda: dict[str, str | None]) -> list[str]:
    """Every difference in names or lower bounds, as readable lines (empty: in sync)."""
    problems = [f"{name} only in pyproject.toml" for name in sorted(pyproject_deps.keys() - conda)]
    problems += [
        f"{name} only in environment.yml" for name in sorted(conda.keys() - pyproject_deps)
    ]
    problems += [
        f"{name}: pyproject >={pyproject_deps[name]} vs environment.yml >={conda[name]}"
        for name in sorted(pyproject_deps.keys() & conda.keys())
        if pyproject_deps[name] != conda[name]
    ]
    return problems


def test_runtime_dependencies_match() -> None:
    runtime, test = pyproject()
    conda, _, _ = environment()
    runtime_in_conda = {name: bound for name, bound in conda.items() if name not in test}
    assert disagreements(runtime, runtime_in_conda) == []
    # test tools, when environment.yml lists them at all, carry the same bounds
    test_in_conda = {name: bound for name, bound in conda.items() if name in test}
    assert disagreements({n: test[n] for n in test_in_conda}, test_in_conda) == []


def test_every_dependency_has_a_lower_bound() -> None:
    runtime, test = pyproject()
    assert all(bound is not None for bound in {**runtime, **test}.values())


def test_python_version_matches() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    required = re.search(r">=\s*([0-9.]+)", project["requires-python"])
    assert required is not None
    assert environment()[2] == required.group(1)


def test_package_is_installed_through_pip_section() -> None:
    _, pip, _ = environment()
    editable = [line for line in pip if re.match(r"^-e\s+['\"]?\.(\[[^\]]*\])?['\"]?$", line)]
    assert editable, f"environment.yml must install gtmkit with pip (-e .), found {pip}"
    _, test = pyproject()
    # the test extras come with the package when the conda file does not list them itself
    conda, _, _ = environment()
    if not set(test) <= set(conda):
        assert any("[test]" in line for line in editable)


def test_checker_catches_each_kind_of_drift() -> None:
    assert parse_requirement("polars>=1.10") == ("polars", "1.10")
    assert parse_requirement("email_validator >=2.1,<3") == ("email-validator", "2.1")
    assert parse_requirement("httpx[http2]>=0.27") == ("httpx", "0.27")
    assert parse_requirement("tqdm") == ("tqdm", None)
    base = {"polars": "1.10", "httpx": "0.27"}
    assert disagreements(base, dict(base)) == []
    assert disagreements(base, {"polars": "1.9", "httpx": "0.27"}) == [
        "polars: pyproject >=1.10 vs environment.yml >=1.9"
    ]
    assert disagreements(base, {"polars": "1.10"}) == ["httpx only in pyproject.toml"]
    assert disagreements({"polars": "1.10"}, base) == ["httpx only in environment.yml"]
