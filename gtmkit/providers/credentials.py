"""API keys: read once (explicit, environment, ``.env``), stripped, validated, never shown.

A key is read from one of three places, in this order: a key given explicitly
(``connect(api_keys=...)`` or an adapter's ``api_key=``), the provider's environment variable,
then a git-ignored ``.env`` file. Whatever the source, surrounding whitespace is removed (a secret
made from a file often ends in ``\\n`` or ``\\r\\n``) and what is left must be something an HTTP
header can carry: visible ASCII, no control character, no whitespace inside. Anything else
raises :class:`InvalidCredentials` before any call is made, naming where the key came from —
never its value.

Once held, a key lives in a :class:`Secret`: no repr, str or pickle shows it, and
:meth:`Secret.redact` removes it from any text in every spelling it can take there (raw,
repr-escaped, JSON-escaped, URL-encoded).

Example:
    >>> clean_key("  sk-live-123\\r\\n", source="the HUNTER_API_KEY environment variable")
    'sk-live-123'
    >>> clean_key("sk live", source="the HUNTER_API_KEY environment variable")
    Traceback (most recent call last):
    ...
    gtmkit.providers.credentials.InvalidCredentials: the HUNTER_API_KEY environment variable \
holds an API key with whitespace inside it, which cannot be sent in an HTTP header. Copy the key \
again from the provider's dashboard (only the key: no quotes, no spaces, no line breaks).
    >>> Secret("sk-live-123").redact("auth failed for sk-live-123 (sk-live-123)")
    'auth failed for *** (***)'
"""

from __future__ import annotations

import os
import re
import string
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from gtmkit.errors import ArgumentError, GtmkitError

#: What a key may be made of: RFC 9110 ``field-vchar`` without obs-text, i.e. visible ASCII.
#: (A header value may also hold inner spaces, but no API key does: a space is a paste error.)
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
#: How a redacted key reads in messages, logs and audit bodies.
MASK = "***"


class InvalidCredentials(GtmkitError, ValueError):
    """A key that cannot be sent as given. The message names its source, never its value."""


class _KeyedClass(Protocol):
    name: str
    env_var: str | None


def clean_key(value: Any, *, source: str) -> str | None:
    """The key with surrounding whitespace removed, ``None`` when nothing is left.

    Args:
        value: the key as read (``None`` = not set).
        source: where it was read, for the error message (``"the PDL_API_KEY environment
            variable"``, ``"api_keys['pdl']"``...).

    Raises:
        InvalidCredentials: the key is not text, or holds a control character, a non-ASCII
            character or inner whitespace (none of which an HTTP header can carry).
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidCredentials(
            f"{source} must be a string, not {type(value).__name__}. Pass the API key as text."
        )
    key = value.strip()
    if not key:
        return None
    if _HEADER_SAFE.fullmatch(key):
        return key
    raise InvalidCredentials(
        f"{source} holds an API key with {_what_is_wrong(key)}, which cannot be sent in an "
        "HTTP header. Copy the key again from the provider's dashboard (only the key: no "
        "quotes, no spaces, no line breaks)."
    )


def _what_is_wrong(key: str) -> str:
    """The kind of character that makes ``key`` unusable, described without showing it."""
    if any(ch.isspace() for ch in key):
        return "whitespace inside it"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        return "a control character in it"
    return "a non-ASCII character in it"


def provider_key(cls: _KeyedClass, explicit: str | None) -> str | None:
    """An adapter's key: ``explicit`` if given, else its environment variable; cleaned.

    Raises:
        InvalidCredentials: the key that would be used is unusable.
    """
    if explicit is not None:
        return clean_key(explicit, source=f"the api_key given to the {cls.name} adapter")
    if not cls.env_var:
        return None
    return clean_key(os.environ.get(cls.env_var), source=f"the {cls.env_var} environment variable")


def read_env_file(path: str | os.PathLike[str], names: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs for the given variable names from a ``.env`` file (missing file: {}).

    Lines may start with ``export``; values may be quoted; ``#`` starts a comment line. The
    values are returned as written (not yet validated), never written into ``os.environ``.

    Example:
        >>> read_env_file("/nonexistent/.env", ["HUNTER_API_KEY"])
        {}
    """
    file = Path(path)
    if not file.is_file():
        return {}
    wanted = set(names)
    found: dict[str, str] = {}
    for line in file.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export ") :].strip()
        name, _, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if name in wanted and value:
            found[name] = value
    return found


def resolve_api_keys(
    classes: Mapping[str, _KeyedClass],
    api_keys: Mapping[str, str] | None = None,
    *,
    env_file: str | os.PathLike[str] | None = ".env",
) -> dict[str, str]:
    """One cleaned key per provider that has one: explicit, else environment, else ``.env``.

    Args:
        classes: ``{provider name: adapter class}`` (each has ``env_var``).
        api_keys: explicit keys by provider name.
        env_file: a ``.env`` file read for variables unset in the environment (``None``: skip).

    Returns:
        ``{provider name: key}`` for every provider whose key was found (none is empty).

    Raises:
        InvalidCredentials: a key that would be used is unusable (the message names the
            ``api_keys`` entry, the variable, or the variable and the file).

    Example:
        >>> class Hunter:
        ...     name, env_var = "hunter", "HUNTER_API_KEY"
        >>> resolve_api_keys({"hunter": Hunter}, {"hunter": " sk-1\\n"}, env_file=None)
        {'hunter': 'sk-1'}
    """
    explicit = dict(api_keys or {})
    variables = [cls.env_var for cls in classes.values() if cls.env_var]
    from_file = read_env_file(env_file, variables) if env_file is not None and variables else {}
    keys: dict[str, str] = {}
    for name, cls in classes.items():
        key: str | None
        if name in explicit:
            key = clean_key(explicit[name], source=f"api_keys[{name!r}]")
        else:
            key = provider_key(cls, None)
            if key is None and cls.env_var and cls.env_var in from_file:
                key = clean_key(from_file[cls.env_var], source=f"{cls.env_var} in {env_file}")
        if key:
            keys[name] = key
    return keys


def resolve_credential_options(
    cls: Any,
    *,
    env_file: str | os.PathLike[str] | None = ".env",
    given: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The adapter's other credentials (``cls.credential_options``: keyword → variable, e.g.
    ZoomInfo's ``client_id`` from ``ZOOMINFO_CLIENT_ID``): given, else environment, else the
    ``.env`` file — the same precedence as the key.

    Example:
        >>> class ZoomInfo:
        ...     credential_options = {"client_id": "ZI_TEST_CLIENT_ID"}
        >>> resolve_credential_options(ZoomInfo, env_file=None, given={"client_id": " c-1 "})
        {'client_id': 'c-1'}
    """
    wanted: Mapping[str, str] = getattr(cls, "credential_options", None) or {}
    given = given or {}
    variables = [v for k, v in wanted.items() if k not in given and not os.environ.get(v)]
    from_file = read_env_file(env_file, variables) if env_file is not None and variables else {}
    found: dict[str, str] = {}
    for option, variable in wanted.items():
        if option in given:
            value = clean_key(given[option], source=f"options[{option!r}]")
        elif os.environ.get(variable):
            value = clean_key(os.environ[variable], source=f"the {variable} environment variable")
        else:
            value = clean_key(from_file.get(variable), source=f"{variable} in {env_file}")
        if value:
            found[option] = value
    return found


class Secret:
    r"""Holds an API key so that no repr, str, ``vars()`` dump or pickle shows it.

    :meth:`redact` masks the key in any spelling a text can hold it in: raw; with any of its
    characters backslash-escaped, to any depth (``repr`` of the text or of its bytes, JSON,
    an escaped message quoted inside another); ``\xXX`` / ``\uXXXX`` escapes; percent-encoded,
    once or twice, hex in either case. The escapes are matched per character, so a spelling
    that depends on the surrounding text (``repr`` escapes a quote only when the text also
    holds the other quote) is covered as well.

    Example:
        >>> secret = Secret("k/1%")
        >>> secret, secret.reveal()
        (Secret(***), 'k/1%')
        >>> secret.redact(r'json="k\/1%" url=?k=k%2f1%25 twice=k%252F1%2525 log=b"k/1%"')
        'json="***" url=?k=*** twice=*** log=b"***"'
    """

    __slots__ = ("_pattern", "_plain", "_value")

    def __init__(self, value: str | None) -> None:
        self._value = value or None
        if self._value:
            hold(self._value)
        self._plain = bool(value) and all(ch in _UNRESERVED for ch in value or "")
        # a key made only of characters nothing escapes has one spelling: plain str methods
        self._pattern = key_pattern(value) if value and not self._plain else None

    def reveal(self) -> str | None:
        return self._value

    def found_in(self, text: str) -> bool:
        """Whether any spelling of the key occurs in ``text``."""
        if self._pattern is not None:
            return self._pattern.search(text) is not None
        return bool(self._value) and self._value in text  # type: ignore[operator]

    def redact(self, text: str) -> str:
        """``text`` with every spelling of the key replaced by ``***``."""
        if self._pattern is not None:
            return self._pattern.sub(MASK, text)
        if self._value:
            return text.replace(self._value, MASK)
        return text

    def __repr__(self) -> str:
        return "Secret(***)" if self._value else "Secret(unset)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise ArgumentError("an API key is never pickled")


#: Most values :func:`hold` remembers (oldest forgotten first): tokens refresh hourly, so a
#: long-lived kernel would otherwise grow the set without bound.
MAX_HELD = 4096
#: Shorter values are not remembered: no real key or token is this short, and masking a
#: two-letter test value in every log line would garble them all.
MIN_HELD_LENGTH = 8
_held: dict[str, None] = {}  # insertion-ordered set of every value ever held as a Secret
_held_lock = threading.Lock()


def hold(value: str) -> None:
    """Remember ``value`` as a secret of this process, so the log filter
    (:mod:`gtmkit.providers._redact`) masks it although no environment variable holds it: a key
    given as ``api_keys=`` or read from a ``.env`` file, an OAuth token fetched at run time.
    Every :class:`Secret` calls it."""
    if len(value) < MIN_HELD_LENGTH:
        return
    with _held_lock:
        _held.pop(value, None)
        _held[value] = None
        while len(_held) > MAX_HELD:
            del _held[next(iter(_held))]


def held_secrets() -> tuple[str, ...]:
    """Every value :func:`hold` remembers (never shown: the log filter's input only)."""
    with _held_lock:
        return tuple(_held)


#: Characters no URL encoder, JSON encoder or ``repr`` ever escapes (RFC 3986 unreserved).
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
#: ``repr``'s letter escapes for the control characters that have one.
_LETTER_ESCAPES = {"\n": "n", "\r": "r", "\t": "t"}


def key_pattern(key: str) -> re.Pattern[str]:
    """A regular expression matching ``key`` in every spelling :class:`Secret` redacts.

    Example:
        >>> pattern = key_pattern("a+b")
        >>> [bool(pattern.fullmatch(t)) for t in ("a+b", "a%2Bb", "a%252bb", r"a\\+b", "a-b")]
        [True, True, True, True, False]
    """
    return re.compile("".join(_char_pattern(ch) for ch in key))


def _char_pattern(ch: str) -> str:
    if ch in _UNRESERVED:
        return re.escape(ch)
    code = ord(ch)
    utf8 = ch.encode("utf-8")
    escape = r"\\*"  # any number of backslashes: escaped once, twice, ...
    # longest spellings first: the first alternative that lets the whole key match wins, so
    # "%25" must be tried before the bare "%" (which would leave "25" unmasked)
    alternatives = ["".join("%(?:25)*" + _hex(byte, 2) for byte in utf8)]
    alternatives.append(escape + "U" + _hex(code, 8))
    if code <= 0xFFFF:
        alternatives.append(escape + "u" + _hex(code, 4))
    alternatives.append("".join(escape + "x" + _hex(byte, 2) for byte in utf8))
    if ch in _LETTER_ESCAPES:
        alternatives.append(escape + _LETTER_ESCAPES[ch])
    alternatives.append(escape + re.escape(ch))
    return "(?:" + "|".join(dict.fromkeys(alternatives)) + ")"


def _hex(value: int, width: int) -> str:
    """``value`` in hex, each letter matching either case."""
    digits = f"{value:0{width}X}"
    return "".join(f"[{d}{d.lower()}]" if d.isalpha() else d for d in digits)


__all__ = [
    "MASK",
    "InvalidCredentials",
    "Secret",
    "clean_key",
    "held_secrets",
    "hold",
    "key_pattern",
    "provider_key",
    "read_env_file",
    "resolve_api_keys",
    "resolve_credential_options",
]
