"""The `permscope` terminal interface (Typer + Rich): one module per command group, `main.app` ties them."""
