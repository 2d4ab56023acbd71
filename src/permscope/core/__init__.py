"""Pure domain model shared by every cloud: ids, inventory, errors. No I/O, no third-party imports."""
