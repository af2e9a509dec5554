"""Google Workspace integration: OAuth sign-in, domain-wide delegation, Gmail, Calendar, People and
the Admin SDK Directory, through google-api-python-client and google-auth."""
