"""Management commands: the broker sync loop, legacy import and export, check_state, tokens."""
