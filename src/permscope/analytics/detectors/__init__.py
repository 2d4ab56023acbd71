"""One module per detector; each defines `DETECTOR` and is registered in `permscope.analytics.registry`."""
