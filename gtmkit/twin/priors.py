"""Priors the twin shrinks towards where the ledger is thin: the published ranges of
``../shared/field-notes.md`` (§4.1 coverage, §4.2 verification, §4.5 calibration).

A prior is a Beta distribution written as a mean and a weight (how many lookups it is worth).
The weights are small on purpose: the published figures are vendor and practitioner claims
with unpublished datasets ("priors with wide ranges, not ground truth"), so a few hundred of
the user's own lookups outweigh them.

Sources of the provider means (midpoints of the published ranges):

* apollo 50–65% (LeadMagic's self-comparison), ~65% US (astragtm.io);
* hunter 40–55% (LeadMagic's self-comparison), ~50% US (astragtm.io);
* pdl 55–63% / 60–67% on technical titles (guitarandtone.club practitioner test);
* leadmagic 60–70% (vendor claim), dropcontact 45–55%, lusha 52–58% enterprise;
* zoominfo ~75% (astragtm.io); any other provider: one provider finds 40–65% (DESIGN.md).

Correlated coverage: three providers at 55% give 85% in the documented EU test where an
independent model says 91% (coldoutreachstack.com); in a one-factor Gaussian copula that is a
latent correlation of about 0.25, the centre of :data:`RHO_PRIOR`.

Example:
    >>> hit_prior("hunter").mean
    0.475
    >>> hit_prior("some_new_vendor").basis
    'field notes: one provider finds 40-65% of emails'
"""

from __future__ import annotations

from dataclasses import dataclass

from gtmkit.twin.errors import TwinError


@dataclass(frozen=True, slots=True)
class Prior:
    """A Beta prior as ``mean`` and ``weight`` (pseudo-observations), with where it comes from.

    Example:
        >>> Prior(0.6, 10).alpha, Prior(0.6, 10).beta
        (6.0, 4.0)
    """

    mean: float
    weight: float = 10.0
    basis: str = "given prior"

    def __post_init__(self) -> None:
        for name, value, low, high in (
            ("mean", self.mean, 0.0, 1.0),
            ("weight", self.weight, 0.0, 1e6),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TwinError(f"Prior.{name} must be a number, got {value!r}")
            if not low < float(value) < high:
                raise TwinError(
                    f"Prior.{name} must lie strictly between {low:g} and {high:g}, got {value!r}"
                )

    @property
    def alpha(self) -> float:
        return self.mean * self.weight

    @property
    def beta(self) -> float:
        return (1.0 - self.mean) * self.weight


_GENERIC = "field notes: one provider finds 40-65% of emails"
_HIT_MEANS: dict[str, tuple[float, str]] = {
    "apollo": (0.575, "field notes: Apollo 50-65% (vendor self-comparison)"),
    "hunter": (0.475, "field notes: Hunter 40-55% (vendor self-comparison)"),
    "pdl": (0.59, "field notes: PDL 55-63% mid-market technical (practitioner)"),
    "leadmagic": (0.65, "field notes: LeadMagic 60-70% (vendor claim)"),
    "dropcontact": (0.50, "field notes: Dropcontact 45-55% (vendor self-comparison)"),
    "lusha": (0.55, "field notes: Lusha 52-58% enterprise business (practitioner)"),
    "zoominfo": (0.75, "field notes: ZoomInfo ~75% (practitioner estimate)"),
}
#: weight of the field-notes prior on a provider's overall hit rate
HIT_PRIOR_WEIGHT = 10.0
#: share of found emails reported ``valid``: SMTP verification works on ~45% of addresses,
#: ~55% are catch-all (trykitt.ai); a weak prior, centred there
USABLE_PRIOR = Prior(0.45, 4.0, "field notes: SMTP verification conclusive on ~45%")
#: errors (timeouts, 5xx after retries) are rare with a healthy provider: ~1 in 50
ERROR_PRIOR = Prior(0.02, 20.0, "prior: about 1 failed lookup in 50")
#: the latent correlation of coverage: mean 0.25 (3 x 55% -> 85% in the copula, the documented
#: figure), weak (a Beta worth 6 observations of it)
RHO_PRIOR = Prior(0.25, 6.0, "field notes: 3 x 55% gave 85%, not 91% (correlated coverage)")


def hit_prior(provider: str) -> Prior:
    """The field-notes prior of ``provider``'s overall hit rate (used only for providers the
    ledger has seen: an unseen one needs an explicit prior)."""
    mean, basis = _HIT_MEANS.get(provider, (0.52, _GENERIC))
    return Prior(mean, HIT_PRIOR_WEIGHT, basis)


__all__ = ["ERROR_PRIOR", "RHO_PRIOR", "USABLE_PRIOR", "Prior", "hit_prior"]
