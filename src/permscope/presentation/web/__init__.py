"""Page view-models of the web UI: plain data built from the store and workflows, and server-side SVG."""
