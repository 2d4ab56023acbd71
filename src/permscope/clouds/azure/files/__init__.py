"""Reading an Azure export folder (the files the script `docs/azure-export.sh` writes) into the raw bundle."""
