"""``gtmkit.twin``: a model of the user's providers calibrated from their own ledger.

Before spending, a GTM engineer asks "what will *this* list cost me, and how sure are you?"
and "which order is best for *my* segments?". The ledger already holds every lookup they paid
for; the twin fits from it, per provider and segment, the hit rate (with the dependence between
providers: they find the same easy people), the usable and error rates, the credits and the
latency — each shrunk towards the published ranges (``priors.py``) where the ledger is thin,
each saying how many observations it rests on — and simulates a waterfall on a new list.

    twin = Twin.fit(ledger, records=last_list, segment_by="employee_band")
    twin.estimates()                          # every estimate, its interval, its n
    twin.predict(new_list, wf, budget=500)    # coverage, usable, credits, $, time + intervals
    twin.budget_for(new_list, wf, coverage=0.9, confidence=0.95)
    twin.what_if(new_list, wf, add=["pdl"], prices={"apollo": 0.08})

Modules: ``observe`` (ledger → lookups and hit patterns), ``latent`` (the findability model and
its fit), ``fit`` (the posterior), ``simulate`` (paths of a row, draws), ``plan`` (a waterfall on
a list), ``results``, ``twin`` (the public class), ``priors``.

Example:
    >>> from gtmkit.twin import Prior, Twin
    >>> Prior(0.6, 10).alpha
    6.0
"""

from __future__ import annotations

from gtmkit.twin.errors import TwinError
from gtmkit.twin.priors import Prior
from gtmkit.twin.results import BudgetAdvice, Interval, Prediction
from gtmkit.twin.twin import Twin

__all__ = ["BudgetAdvice", "Interval", "Prediction", "Prior", "Twin", "TwinError"]
