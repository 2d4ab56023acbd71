"""Live, read-only collection of an Azure tenant through the Azure SDK for Python (one raw bundle per tenant)."""
