"""Azure RBAC's decision logic: scopes, action patterns, role definitions, deny assignments, ABAC conditions,
one request decided and explained, and the simulator's case format."""
