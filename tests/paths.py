"""Where things are, for tests that run `manage.py` or read recorded files."""

from pathlib import Path

# The project root: the working directory of `manage.py` subprocesses.
ROOT = Path(__file__).resolve().parent.parent
# Recorded inputs: Kotak order reports (kotak/) and the old bot's files (legacy/).
RECORDED = ROOT / "tests" / "fixtures"
