"""Provider name → simulated API class (one module per provider)."""

from __future__ import annotations

from gtmkit.sandbox.http.api import ProviderAPI
from gtmkit.sandbox.http.apollo import ApolloAPI
from gtmkit.sandbox.http.dropcontact import DropcontactAPI
from gtmkit.sandbox.http.findymail import FindymailAPI
from gtmkit.sandbox.http.hunter import HunterAPI
from gtmkit.sandbox.http.leadmagic import LeadMagicAPI
from gtmkit.sandbox.http.lusha import LushaAPI
from gtmkit.sandbox.http.pdl import PDLAPI
from gtmkit.sandbox.http.prospeo import ProspeoAPI
from gtmkit.sandbox.http.zoominfo import ZoomInfoAPI

API_CLASSES: dict[str, type[ProviderAPI]] = {
    "apollo": ApolloAPI,
    "hunter": HunterAPI,
    "pdl": PDLAPI,
    "prospeo": ProspeoAPI,
    "dropcontact": DropcontactAPI,
    "zoominfo": ZoomInfoAPI,
    "lusha": LushaAPI,
    "findymail": FindymailAPI,
    "leadmagic": LeadMagicAPI,
}
