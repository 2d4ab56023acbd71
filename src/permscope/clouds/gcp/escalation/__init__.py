"""GCP privilege escalation: the techniques, the graph of one project, and what each step gives."""
