"""Use cases: the only layer that combines clouds, store and analytics, and the owner of transactions."""
