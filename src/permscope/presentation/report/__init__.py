"""The self-contained HTML report of `permscope scan` (one file, no external resources, readable offline)."""

from permscope.presentation.report.html import render_html, write_html

__all__ = ["render_html", "write_html"]
