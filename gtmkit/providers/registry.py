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

from gtmkit.providers.base import Provider

#: Modules of this package that are plumbing, not adapters.
_INFRASTRUCTURE = frozenset(
    {"base", "errors", "registry", "connect", "status", "throttle", "normalize", "aliases"}
)

_REGISTRY: dict[str, type[Provider]] = {}


def register(cls: type[Provider]) -> type[Provider]:
    """Add an adapter class to the registry (usable as a class decorator).

    Raises:
        ValueError: if the class has no ``name`` or another class already uses it.
    """
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{cls.__name__} has no provider name")
    existing = _REGISTRY.get(name)
    if existing is not None and existing is not cls:
        raise ValueError(f"provider name {name!r} is already used by {existing.__name__}")
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
        KeyError: with the list of known names, if ``name`` is not registered.
    """
    if not _REGISTRY:
        _discover()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(provider_names())
        raise KeyError(f"unknown provider {name!r}; known providers: {known}") from None
