"""Who may log in and who may do what: the log-in lockout (django-axes) and the rules
every face asks (`rules`)."""
