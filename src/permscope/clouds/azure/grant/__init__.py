"""The Azure write side of permissions on demand."""
