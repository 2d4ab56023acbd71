"""Azure: the RBAC evaluation engine (role and deny assignments, ABAC conditions); the rest of the plugin follows."""
