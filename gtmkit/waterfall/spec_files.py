"""Waterfall specs from files: TOML or YAML (or the same shape as a mapping).

Example:
    >>> steps = ["hunter", {"provider": "apollo", "stop": "first_verified"}]
    >>> wf = waterfall_from_dict({"steps": steps})
    >>> [s.provider for s in wf.steps]
    ['hunter', 'apollo']
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from gtmkit.waterfall.spec import _WHEN, SpecError, Step, Waterfall


def waterfall_from_dict(data: Mapping[str, Any]) -> Waterfall:
    """Build a spec from a mapping shaped like the TOML/YAML file (see :meth:`from_file`)."""
    if not isinstance(data, Mapping):
        raise SpecError("a waterfall spec must be a mapping")
    known = {"name", "steps", "verify", "route_by", "prices", "order", "segment_by"}
    extra = sorted(set(data) - known)
    if extra:
        raise SpecError(f"unknown key(s) {extra} in waterfall spec (known: {sorted(known)})")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise SpecError("the spec needs a non-empty 'steps' list")
    steps = []
    step_keys = {
        "provider",
        "fills",
        "when",
        "stop",
        "catch_all",
        "min_confidence",
        "label",
        "phone_stop",
    }
    for i, raw in enumerate(raw_steps):
        if isinstance(raw, str):
            raw = {"provider": raw}
        if not isinstance(raw, Mapping) or "provider" not in raw:
            raise SpecError(f"steps[{i}] must be a provider name or a table with 'provider'")
        bad = sorted(set(raw) - step_keys)
        if bad:
            raise SpecError(f"steps[{i}]: unknown key(s) {bad} (known: {sorted(step_keys)})")
        kwargs = dict(raw)
        if "fills" in kwargs:
            kwargs["fills"] = (
                tuple(kwargs["fills"])
                if not isinstance(kwargs["fills"], str)
                else (kwargs["fills"],)
            )
        if "when" in kwargs and kwargs["when"] not in _WHEN:
            kwargs["when"] = _parse_when(kwargs["when"], i)
        try:
            steps.append(Step(**kwargs))
        except TypeError as exc:
            raise SpecError(f"steps[{i}]: {exc}") from exc
    return Waterfall(
        steps=steps,
        verify=data.get("verify"),
        route_by=data.get("route_by"),
        prices=data.get("prices"),
        name=str(data.get("name", "waterfall")),
        order=data.get("order", "static"),
        segment_by=data.get("segment_by"),
    )


def waterfall_from_file(path: str | Path) -> Waterfall:
    """Load a spec from ``.toml`` or ``.yaml``/``.yml``.

    TOML shape::

        name = "smb emails"
        verify = "hunter_verifier"
        [[steps]]
        provider = "hunter"
        [[steps]]
        provider = "apollo"
        stop = "first_verified"
        catch_all = "accept_if_confident"
        [prices]
        apollo = 0.02

    A step's ``when`` may be ``"missing"``, ``"always"`` or a SQL predicate over the input
    columns (``"country = 'FR'"``), turned into a polars expression.
    """
    path = Path(path)
    if not path.exists():
        raise SpecError(f"no waterfall spec at {path}")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix in {".yaml", ".yml"}:
            import yaml

            data = yaml.safe_load(text)
        else:
            raise SpecError(f"{path}: unsupported spec format {suffix!r} (use .toml or .yaml)")
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(f"{path}: not valid {suffix[1:].upper()}: {exc}") from exc
    except Exception as exc:  # yaml.YAMLError without importing yaml at module level
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return waterfall_from_dict(data)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from exc


# -- helpers used by the engine and estimate ------------------------------------------


def _parse_when(value: Any, index: int) -> pl.Expr:
    if not isinstance(value, str):
        raise SpecError(f"steps[{index}].when must be 'missing', 'always' or a SQL predicate")
    try:
        return pl.sql_expr(value)
    except Exception as exc:
        raise SpecError(
            f"steps[{index}].when: cannot parse {value!r} as a predicate: {exc}"
        ) from exc
