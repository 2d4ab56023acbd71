"""Google Cloud IAM's decision logic: members, roles, the resource hierarchy, conditions, deny rules, simulation."""
