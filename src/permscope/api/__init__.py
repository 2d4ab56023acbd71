"""The REST API: Microsoft Graph (beta) permissions-management shapes over the permscope store."""
