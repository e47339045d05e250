"""Who may log in and do what: the dashboard's log-in lockout."""
