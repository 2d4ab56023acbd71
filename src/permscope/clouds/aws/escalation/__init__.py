"""AWS privilege escalation: the technique catalogue, each requirement decided by the engine, the graph of one account."""
