"""Reading an Azure export folder (the files `docs/azure-export.md`'s script writes) into the raw bundle."""
