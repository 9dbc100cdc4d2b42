"""The pattern library: find an entry, deploy it as documented, measure it, write it back.

Entries are markdown files under ``patterns/<category>/`` in the seed's template (see
``patterns/README.md``). This package reads them, turns a documented provider sequence into a
runnable waterfall, checks a run against the documented figures, writes the measured figures
back into the entry (a generated block, a Version History line, maturity by the seed's rules)
without touching a byte a person wrote, indexes and searches the library, and extracts a new
entry from a comparison.

Example:
    >>> from gtmkit import patterns
    >>> p = patterns.load("patterns/enrichment-waterfalls/enterprise-contact-enrichment.md")
    >>> wf = p.to_waterfall()
    >>> [s.provider for s in wf.steps], [s.label for s in wf.steps][-1]
    (['apollo', 'zoominfo', 'hunter', 'manual'], 'Manual LinkedIn')
    >>> # result = wf.run(leads); p.check(result); p.record_benchmark(result); p.save()
    >>> patterns.search(query="verified emails for small companies")["name"][0]
    'smb-verified-guess-waterfall'

Public names other code relies on: :func:`load`, :meth:`Pattern.to_waterfall`,
:meth:`Pattern.check`, :meth:`Pattern.record_benchmark`, :meth:`Pattern.save`, :func:`index`,
:func:`search`, :func:`from_comparison`; errors are :class:`PatternError`.
"""

from __future__ import annotations

from gtmkit.patterns.benchmark import LEVELS, Benchmark
from gtmkit.patterns.errors import PatternError
from gtmkit.patterns.extract import from_comparison
from gtmkit.patterns.index import index
from gtmkit.patterns.measure import Estimate, Measurement, dataset_fingerprint
from gtmkit.patterns.model import CATEGORIES, Pattern, from_text, load
from gtmkit.patterns.search import profile, search
from gtmkit.patterns.sequence import DocumentedStep, PlannedStep, parse_step_line

__all__ = [
    "CATEGORIES",
    "LEVELS",
    "Benchmark",
    "DocumentedStep",
    "Estimate",
    "Measurement",
    "Pattern",
    "PatternError",
    "PlannedStep",
    "dataset_fingerprint",
    "from_comparison",
    "from_text",
    "index",
    "load",
    "parse_step_line",
    "profile",
    "search",
]
