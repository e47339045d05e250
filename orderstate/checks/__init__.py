"""`check_state`: the whole state checked against itself, and repairs that need no guess."""

from orderstate.checks.problem import Problem
from orderstate.checks.problems import DEFAULT_MAX_ACTIVE_DAYS, find_problems
from orderstate.checks.repairs import fix_problems

__all__ = ["DEFAULT_MAX_ACTIVE_DAYS", "Problem", "find_problems", "fix_problems"]
