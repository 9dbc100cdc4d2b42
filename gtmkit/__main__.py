"""``python -m gtmkit <command>``: the same as the ``gtmkit`` console script (see gtmkit.cli)."""

from __future__ import annotations

from gtmkit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
