"""permscope: self-hosted multicloud permissions management (CIEM)."""

__version__ = "0.1.0"
