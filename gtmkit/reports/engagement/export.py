"""The executed report notebook as a client document: one self-contained HTML page, and the same
page printed to PDF by headless Chromium.

What the client does not see: code, prompts, the parameters, cells tagged ``analyst`` (notes
for whoever runs the notebook), the recorded figures (the cell tagged ``figures``: JSON), and
anything a cell printed to stderr. What they see: the sections' HTML, in the report's own
stylesheet, with the charts as inline images — no script, no font or style from the network.

Example:
    >>> from nbformat.v4 import new_code_cell, new_notebook, new_output
    >>> from gtmkit.reports.engagement.export import report_html
    >>> shown = new_code_cell("er.summary(e)", outputs=[new_output("display_data",
    ...     data={"text/html": "<h2>Summary</h2>", "text/plain": "Summary"})])
    >>> note = new_code_cell("print(1)", metadata={"tags": ["analyst"]},
    ...     outputs=[new_output("stream", name="stdout", text="1\\n")])
    >>> html = report_html(new_notebook(cells=[shown, note]), title="Acme — report")
    >>> "<h2>Summary</h2>" in html, "print(1)" in html, "<title>Acme — report</title>" in html
    (True, False, True)
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import threading
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gtmkit.reports.engagement.errors import ReportExportError

if TYPE_CHECKING:  # pragma: no cover
    from nbformat import NotebookNode

__all__ = ["CHROMIUM", "HIDDEN_TAGS", "REPORT_CSS", "chromium_path", "report_html", "report_pdf"]

#: Cells with these tags are left out of the client's document.
HIDDEN_TAGS = frozenset({"analyst", "figures", "parameters", "injected-parameters"})
#: Debian's Chromium (what the browser tests use); ``GTMKIT_CHROMIUM`` overrides it.
CHROMIUM = "/usr/bin/chromium"
_CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

REPORT_CSS = """
:root { --ink: #1d2733; --muted: #5b6673; --accent: #1f5f8b; --line: #dde3ea; }
* { box-sizing: border-box; }
body { margin: 0; background: #ffffff; color: var(--ink);
  font: 15px/1.5 "Liberation Sans", "DejaVu Sans", Helvetica, Arial, sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 32px 40px 56px; }
h1 { font-size: 30px; margin: 2px 0 4px; }
h2 { font-size: 21px; margin: 34px 0 10px; padding-top: 14px; border-top: 2px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; }
p, li { max-width: 78ch; }
.report-title .kicker { text-transform: uppercase; letter-spacing: .08em; color: var(--accent);
  font-size: 13px; margin: 0; font-weight: bold; }
.report-title .subtitle { color: var(--muted); margin: 0 0 12px; }
.banner { background: #fff6e0; border-left: 4px solid #c9a227; padding: 8px 12px; max-width: none; }
.cards { display: grid; grid-template-columns: repeat(5, 1fr); gap: 10px; margin: 14px 0 18px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .label { display: block; color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .04em; }
.card .value { display: block; font-size: 24px; font-weight: bold; margin: 2px 0; }
.card .sub { display: block; color: var(--muted); font-size: 12.5px; line-height: 1.35; }
.gt_table { margin: 8px 0 16px !important; }
img.chart { display: block; max-width: 100%; height: auto; margin: 10px 0 18px; }
.attachments { color: var(--muted); }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  main { max-width: none; padding: 0; }
  .cards { grid-template-columns: repeat(5, 1fr); }
  h2 { break-after: avoid; }
  table, img.chart, .card { break-inside: avoid; }
}
"""


def _client_view(nb: NotebookNode) -> NotebookNode:
    """A copy of ``nb`` holding only what the client reads."""
    view = copy.deepcopy(nb)
    cells = []
    for c in view.cells:
        if HIDDEN_TAGS & set(c.get("metadata", {}).get("tags", [])):
            continue
        if c.cell_type == "code":
            c.outputs = [
                o
                for o in c.outputs
                if o.get("output_type") in ("display_data", "execute_result")
                and "text/html" in o.get("data", {})
            ]
            for o in c.outputs:  # only the HTML rendering, never a plain-text repr
                o["data"] = {"text/html": o["data"]["text/html"]}
            if not c.outputs:
                continue
        elif c.cell_type != "markdown":
            continue
        cells.append(c)
    view.cells = cells
    view.metadata.pop("widgets", None)
    return view


def report_html(nb: NotebookNode, *, title: str) -> str:
    """The client's HTML document of an executed report notebook (see the module docstring).

    Args:
        nb: the executed (and scrubbed) notebook.
        title: the document title (the browser tab, the PDF's metadata): client and date.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(_client_view(nb))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{REPORT_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def chromium_path() -> Path:
    """The Chromium that prints PDFs (``GTMKIT_CHROMIUM``, else Debian's).

    Raises:
        ReportExportError: no Chromium there, with how to install one.
    """
    path = Path(os.environ.get("GTMKIT_CHROMIUM") or CHROMIUM)
    if not path.exists() and shutil.which(str(path)) is None:
        raise ReportExportError(
            f"no Chromium at {path} to print the PDF: install it (apt-get install chromium), "
            "set GTMKIT_CHROMIUM to a Chromium binary, or skip the PDF (--no-pdf)"
        )
    return path


def _print(html: str, target: Path) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="gtmkit-pdf-") as scratch:
        page_file = Path(scratch) / "report.html"
        page_file.write_text(html, encoding="utf-8")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium_path()), args=_CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                # Offline: the report is self-contained, so anything else is refused.
                page.route(
                    "**/*",
                    lambda route: (
                        route.continue_()
                        if route.request.url.startswith(("file:", "data:"))
                        else route.abort()
                    ),
                )
                page.goto(page_file.as_uri(), wait_until="load")
                page.emulate_media(media="print")
                pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
            finally:
                browser.close()
    scratch_pdf = target.with_name(f".{target.name}.tmp")
    scratch_pdf.write_bytes(pdf)
    os.replace(scratch_pdf, target)


def report_pdf(html: str, path: str | os.PathLike[str]) -> Path:
    """Print the report's HTML to ``path`` as an A4 PDF with headless Chromium (offline: the
    page may load nothing but itself). Written atomically.

    Runs the browser on a worker thread, so it also works from inside a notebook kernel
    (Playwright's synchronous API refuses a thread with a running event loop).

    Raises:
        ReportExportError: no Chromium, or printing failed (the message says why).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    chromium_path()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            _print(html, target)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=work, name="gtmkit-report-pdf")
    thread.start()
    thread.join()
    if failure:
        error: Any = failure[0]
        if isinstance(error, ReportExportError):
            raise error
        raise ReportExportError(f"printing the PDF with Chromium failed: {error}") from error
    return target
