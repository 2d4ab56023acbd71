"""View-models of the web UI's pages: plain data built from the store, workflows and presentation layer, pure."""
