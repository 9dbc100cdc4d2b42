"""Errors of the simulated world and its servers.

Example:
    >>> from gtmkit.errors import GtmkitError
    >>> issubclass(SandboxError, GtmkitError) and issubclass(SandboxError, ValueError)
    True
"""

from __future__ import annotations

from gtmkit.errors import GtmkitError


class SandboxError(GtmkitError, ValueError):
    """A simulation asked for with impossible settings (the message says which)."""


class SandboxServerError(GtmkitError, RuntimeError):
    """The loopback server could not start or be reached."""


__all__ = ["SandboxError", "SandboxServerError"]
