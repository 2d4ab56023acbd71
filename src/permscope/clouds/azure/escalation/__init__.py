"""Azure privilege escalation: the technique catalogue, each step decided by the RBAC engine or read from Entra
facts, the graph of one subscription."""
