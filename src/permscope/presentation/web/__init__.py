"""Page view-models of the web UI: plain data built from the presentation layer, the workflows and the store."""
