"""The AWS write side of permissions on demand."""
