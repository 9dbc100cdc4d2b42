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
from collections.abc import Iterator, Sequence
from typing import overload

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
        "transport",
        "credentials",
        "inputs",
        "pricing",
        "status",
        "throttle",
        "normalize",
        # the declarative provider: its adapters are built from specs (register_spec)
        "http_spec",
        "declarative",
        # Apollo's phone-reveal inbox and webhook handler (no adapter)
        "apollo_phone",
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
#: whether the package's own adapter modules were imported (a spec registered first must not
#: stop the built-in adapters from being found)
_DISCOVERED = False


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
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
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
    _discover()
    return tuple(sorted(_REGISTRY, key=lambda n: (_REGISTRY[n].listing_order, n)))


class ProviderNames(Sequence[str]):
    """The registered provider names, read at each use (not frozen at import): a spec provider
    registered later (``register_spec``) is listed too. Compares equal to the tuple of names.

    Example:
        >>> names = ProviderNames()
        >>> "hunter" in names, names[0], tuple(names) == provider_names()
        (True, 'apollo', True)
    """

    def _names(self) -> tuple[str, ...]:
        return provider_names()

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ProviderNames):
            return True
        return isinstance(other, tuple | list) and self._names() == tuple(other)

    def __hash__(self) -> int:
        return hash(ProviderNames)

    def __repr__(self) -> str:
        return repr(self._names())


def provider_class(name: str) -> type[Provider]:
    """The adapter class registered under ``name``.

    Raises:
        UnknownProvider: (a ``KeyError``) with the list of known names, if ``name`` is not
            registered.
    """
    _discover()
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):  # TypeError: an unhashable "name" (a list, a dict)
        raise UnknownProvider(name, provider_names()) from None
