"""``python -m gtmkit.sandbox serve|samples ...`` — run the loopback server or rebuild samples."""

from __future__ import annotations

import sys

USAGE = """usage: python -m gtmkit.sandbox <command> [options]

commands:
  serve     serve the simulated providers on loopback (prints base URLs as one JSON line)
  samples   regenerate the sample lead lists and their truth files under data/samples/
"""


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "serve":
        from gtmkit.sandbox.http.server import main as serve_main

        return serve_main(rest)
    if command == "samples":
        from gtmkit.sandbox.samples import main as samples_main

        return samples_main(rest)
    print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
