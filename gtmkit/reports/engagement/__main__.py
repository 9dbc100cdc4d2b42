"""``python -m gtmkit.reports.engagement NOTEBOOK -p NAME VALUE ...`` — the ``report`` command
(also ``python -m gtmkit report``); see :mod:`gtmkit.reports.engagement.command`."""

from __future__ import annotations

from gtmkit.reports.engagement.command import report_main

if __name__ == "__main__":
    raise SystemExit(report_main(prog="python -m gtmkit.reports.engagement"))
