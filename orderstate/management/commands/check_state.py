import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from orderstate.checks import DEFAULT_MAX_ACTIVE_DAYS, find_problems, fix_problems


class Command(BaseCommand):
    help = (
        "Check that orders, trades and the failed-order queue agree with each other; "
        "--fix repairs what needs no guess. Exits non-zero while problems remain."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="repair what can be repaired")
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument(
            "--max-active-days",
            type=int,
            default=DEFAULT_MAX_ACTIVE_DAYS,
            help="an order active longer than this is reported",
        )

    def handle(self, *args, fix, max_active_days, **options):
        if max_active_days < 1:
            raise CommandError("--max-active-days must be at least 1")
        problems = find_problems(max_active_days=max_active_days)
        if fix:
            fixed, remaining = fix_problems(problems, max_active_days=max_active_days)
        else:
            fixed, remaining = [], problems
        if options["json"]:
            self._print_json(fixed, remaining)
        else:
            self._print_text(fixed, remaining)
        if remaining:
            raise CommandError(f"{len(remaining)} problem(s) remain", returncode=1)

    def _print_json(self, fixed, remaining):
        document = {
            "fixed": [p.as_dict() for p in fixed],
            "problems": [p.as_dict() for p in remaining],
        }
        self.stdout.write(jsonlib.dumps(document, indent=2, default=str))

    def _print_text(self, fixed, remaining):
        for problem in fixed:
            self.stdout.write(f"fixed    {problem.code}: {problem.message}")
        for problem in remaining:
            self.stdout.write(f"problem  {problem.code}: {problem.message}")
        if not fixed and not remaining:
            self.stdout.write("No problems found.")
