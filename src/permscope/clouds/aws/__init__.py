"""AWS: action catalogue, export reader, raw-to-core transform."""
