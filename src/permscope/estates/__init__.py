"""Generated demo and benchmark estates (not part of any cloud package): realistic exports to load."""
