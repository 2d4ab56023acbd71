"""The raw Azure bundle (live or files) into one `InventoryBatch` per subscription."""
