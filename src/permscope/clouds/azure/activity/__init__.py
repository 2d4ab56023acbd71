"""Azure activity: the Activity Log and Entra sign-ins into usage and last activity (`readers.AZURE_ACTIVITY`)."""
