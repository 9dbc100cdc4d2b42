"""Which providers exist: every adapter module in this package registers itself by existing.

Discovery imports each public module of ``gtmkit.providers`` that is not infrastructure and
collects the concrete :class:`~gtmkit.providers.base.Provider` subclasses it defines. Adding a
provider is therefore one new module (see ``README.md``). Adapters living outside the package
(a notebook, a client repo) can be added with :func:`register`.

Example:
    >>> from gtmkit.providers.registry import provider_class
    >>> provider_class("hunter").__name__
    'HunterProvider'
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from gtmkit.errors import GtmkitError
from gtmkit.providers.base import Provider
from gtmkit.providers.errors import ProviderUsageError

#: Modules of this package that are plumbing, not adapters.
_INFRASTRUCTURE = frozenset(
    {
        "aliases",
        "base",
        "errors",
        "registry",
        "connect",
        "credentials",
        "inputs",
        "pricing",
        "status",
        "throttle",
        "normalize",
        # the declarative provider: its adapters are built from specs (register_spec)
        "http_spec",
        "declarative",
    }
)


class UnknownProvider(GtmkitError, KeyError):
    """A provider name that no adapter is registered under (the message lists the known ones).

    A ``KeyError`` (a lookup by name that failed) whose text is the plain message, not the
    quoted repr ``KeyError`` prints by default.

    Example:
        >>> try:
        ...     provider_class("huntr")
        ... except UnknownProvider as exc:
        ...     print(str(exc).split(";")[0])
        unknown provider 'huntr'
    """

    def __init__(self, name: object, known: tuple[str, ...]) -> None:
        self.name = name
        self.known = known
        super().__init__(
            f"unknown provider {name!r}; known providers: {', '.join(known)}. "
            "Check the spelling, or register a custom adapter with "
            "gtmkit.providers.register(...)."
        )

    def __str__(self) -> str:
        return str(self.args[0])


_REGISTRY: dict[str, type[Provider]] = {}


def register(cls: type[Provider]) -> type[Provider]:
    """Add an adapter class to the registry (usable as a class decorator).

    Raises:
        ValueError: if the class has no ``name`` or another class already uses it.
    """
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ProviderUsageError(
            f"{cls.__name__} has no provider name: set the class attribute name = '...'"
        )
    existing = _REGISTRY.get(name)
    if existing is not None and existing is not cls:
        raise ProviderUsageError(
            f"provider name {name!r} is already used by {existing.__name__}; pick another name"
        )
    _REGISTRY[name] = cls
    return cls


def _discover() -> None:
    import gtmkit.providers as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") or info.name in _INFRASTRUCTURE:
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, Provider)
                and obj.__module__ == module.__name__
                and not inspect.isabstract(obj)
                and isinstance(getattr(obj, "name", None), str)
            ):
                register(obj)


def provider_names() -> tuple[str, ...]:
    """Registered provider names, in listing order."""
    if not _REGISTRY:
        _discover()
    return tuple(sorted(_REGISTRY, key=lambda n: (_REGISTRY[n].listing_order, n)))


def provider_class(name: str) -> type[Provider]:
    """The adapter class registered under ``name``.

    Raises:
        UnknownProvider: (a ``KeyError``) with the list of known names, if ``name`` is not
            registered.
    """
    if not _REGISTRY:
        _discover()
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):  # TypeError: an unhashable "name" (a list, a dict)
        raise UnknownProvider(name, provider_names()) from None
