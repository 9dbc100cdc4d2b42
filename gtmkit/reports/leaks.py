"""Find what must never be in a report: key-like strings and absolute machine paths.

Scans a notebook's metadata, cell sources and text outputs (executed or committed). Images and
widget state are skipped: binary payloads and random model ids, not text a person reads.

Example:
    >>> from gtmkit.reports.leaks import find_leaks
    >>> nb = {"cells": [{"cell_type": "code", "source": 'api_key = "abcd1234efgh5678"'}]}
    >>> [str(leak) for leak in find_leaks(nb, environ={})]
    ['cell 0: secret: api_…']
    >>> nb = {"cells": [{"cell_type": "code", "source": "read('/home/ann/leads.csv')"}]}
    >>> [leak.kind for leak in find_leaks(nb, environ={})]
    ['absolute_path']
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from gtmkit.reports.notebook import read_notebook

__all__ = ["SECRET_PARAMETER_NAME", "Leak", "find_leaks"]

LeakKind = Literal["secret", "env_secret", "absolute_path"]

#: Parameter names that would put a credential into the output notebook: papermill writes every
#: parameter in plain text into the notebook and its metadata, so credentials come from env only.
SECRET_PARAMETER_NAME = re.compile(
    r"(?i)(api[_-]?key|apikey|token|secret|password|passwd|credential|bearer"
    r"|auth(?:[_-]?(?:key|token|header)|orization))"
)


@dataclass(frozen=True, slots=True)
class Leak:
    """Something in a notebook that must not be there. ``excerpt`` is redacted."""

    cell: int | None  # cell index, None for notebook metadata
    kind: LeakKind
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


def _joined(text: str | list[str]) -> str:
    return text if isinstance(text, str) else "".join(text)


def _texts(nb: Mapping[str, Any]) -> Iterator[tuple[int | None, str]]:
    """Every human-readable string in a notebook: metadata, sources and text outputs."""
    metadata = dict(nb.get("metadata", {}))
    metadata.pop("widgets", None)  # widget state: model ids and binary buffers
    yield None, json.dumps(metadata)
    for index, cell in enumerate(nb.get("cells", [])):
        yield index, _joined(cell.get("source", ""))
        yield index, json.dumps(cell.get("metadata", {}))
        for output in cell.get("outputs", []):
            if "text" in output:
                yield index, _joined(output["text"])
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
        >>> nb = {"cells": [{"cell_type": "code", "source": "print(rows)",
        ...     "outputs": [{"output_type": "stream", "text": "using zq8-key-7731a"}]}]}
        >>> [leak.kind for leak in find_leaks(nb, environ={"ACME_API_KEY": "zq8-key-7731a"})]
        ['env_secret']
    """
    nb = read_notebook(notebook) if isinstance(notebook, (str, os.PathLike)) else notebook
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
