"""The web UI: server-rendered pages (Jinja2) over the workflows, store queries and presentation the API uses."""
