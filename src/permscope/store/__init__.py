"""SQL persistence: typed tables, engine and migrations, the one ingest path, and read queries."""
