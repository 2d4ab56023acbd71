"""View-models of the web UI's pages: plain data built from the workflows, pure, so the command line could reuse them."""
