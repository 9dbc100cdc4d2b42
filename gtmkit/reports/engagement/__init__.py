"""The engagement report: what a client reads after a pattern's waterfall ran on their list.

``notebooks/05-engagement-report.ipynb`` orchestrates; this package computes and renders. One
job per module:

- :mod:`~gtmkit.reports.engagement.measures` — :func:`measure_engagement`, the one computation
  of every figure (:class:`Engagement`);
- :mod:`~gtmkit.reports.engagement.sections` — the report's sections as HTML (title, summary,
  sources, data quality, not enriched, recommendations, method note);
- :mod:`~gtmkit.reports.engagement.advice` — the recommendations' rules;
- :mod:`~gtmkit.reports.engagement.numbers` — how a figure is written (money, percent, ranges);
- :mod:`~gtmkit.reports.engagement.tables` — Great Tables tables of ready-written cells;
- :mod:`~gtmkit.reports.engagement.images` — charts as inline PNG;
- :mod:`~gtmkit.reports.engagement.export` — the client's HTML document and its PDF;
- :mod:`~gtmkit.reports.engagement.command` — ``python -m gtmkit report NOTEBOOK -p ...``
  (:func:`report_main`, :func:`run_report`);
- :mod:`~gtmkit.reports.engagement.inputs`, :mod:`~gtmkit.reports.engagement.naming`,
  :mod:`~gtmkit.reports.engagement.deliver` — the notebook's inputs, file names, and the
  files delivered with the report.

Example:
    >>> from datetime import date
    >>> from gtmkit.reports import engagement as er
    >>> er.report_stem("Acme Analytics", date(2026, 12, 3))
    'acme-analytics-2026-12-03'
"""

from __future__ import annotations

from gtmkit.reports.engagement.advice import recommendations as recommendation_texts
from gtmkit.reports.engagement.command import ReportFiles, report_main, run_report
from gtmkit.reports.engagement.deliver import deliver
from gtmkit.reports.engagement.errors import ReportExportError, ReportInputError
from gtmkit.reports.engagement.export import report_html, report_pdf
from gtmkit.reports.engagement.inputs import data_source, find_pattern, run_mode
from gtmkit.reports.engagement.measures import Engagement, Share, measure_engagement
from gtmkit.reports.engagement.naming import client_slug, report_day, report_stem
from gtmkit.reports.engagement.sections import (
    Section,
    data_quality,
    method_note,
    not_enriched,
    recommendations,
    sources,
    summary,
    title,
)

__all__ = [
    "Engagement",
    "ReportExportError",
    "ReportFiles",
    "ReportInputError",
    "Section",
    "Share",
    "client_slug",
    "data_quality",
    "data_source",
    "deliver",
    "find_pattern",
    "measure_engagement",
    "method_note",
    "not_enriched",
    "recommendation_texts",
    "recommendations",
    "report_day",
    "report_html",
    "report_main",
    "report_pdf",
    "report_stem",
    "run_mode",
    "run_report",
    "sources",
    "summary",
    "title",
]
