"""The positions check: what orderstate's ledger holds of each symbol against what the
broker says the account holds (delivery holdings plus today's CNC net position, cash
segments only), and the latest check's mismatches for the faces.

The account is not the bot's alone (DESIGN.md): a broker holding less than the
ledger is always a mismatch; more is a mismatch until a staff user confirms the
extra as held outside orderstate (`OutsideHolding`), and from then on only a
change of that extra is. Symbols orderstate never traded are counted as outside,
never listed. Nothing here changes state: a mismatch is recorded and shown, and
fixed only by a staff user through an action.
"""

from dataclasses import dataclass

from orderstate.checks.problem import Problem
from orderstate.models import OutsideHolding, Position, SyncOutcome, SyncRun


def compare_positions(account, holdings):
    """The check's stats for one account against `holdings` ({symbol: Holding})."""
    ours = dict(Position.objects.filter(account=account).values_list("symbol", "net_quantity"))
    outside = dict(OutsideHolding.objects.filter(account=account).values_list("symbol", "quantity"))
    mismatches, outside_symbols = [], 0
    for symbol in sorted(set(ours) | set(holdings)):
        holding = holdings.get(symbol)
        broker = holding.quantity if holding is not None else 0
        if symbol not in ours:
            outside_symbols += broker != 0
            continue
        extra, confirmed = broker - ours[symbol], outside.get(symbol)
        # Less than ours is never the confirmed extra (that is never below zero).
        if extra != (confirmed or 0):
            mismatch = {"symbol": symbol, "ours": ours[symbol], "broker": broker}
            mismatch["outside"] = confirmed
            if holding is not None and holding.average_price:
                mismatch["broker_average"] = str(holding.average_price)
            mismatches.append(mismatch)
    return {
        "position_mismatches": mismatches,
        "positions_checked": len(set(ours) | set(holdings)),
        "positions_outside": outside_symbols,
    }


@dataclass(frozen=True)
class Mismatch:
    account: str
    symbol: str
    ours: int
    broker: int
    outside: int | None
    broker_average: str | None
    run_id: int


def latest_mismatches(account=None):
    """The mismatches of the latest sync that checked positions (of `account`, or of any),
    [] when none has."""
    runs = SyncRun.objects.filter(
        outcome=SyncOutcome.OK, dry_run=False, stats__has_key="position_mismatches"
    )
    if account is not None:
        runs = runs.filter(account=account)
    run = runs.order_by("-started_at", "-id").only("pk", "account", "stats").first()
    if run is None:
        return []
    return [
        Mismatch(
            account=run.account or "default",
            symbol=row["symbol"],
            ours=row["ours"],
            broker=row["broker"],
            outside=row.get("outside"),
            broker_average=row.get("broker_average"),
            run_id=run.pk,
        )
        for row in run.stats["position_mismatches"]
    ]


def mismatch_of(account, symbol):
    """The latest check's mismatch of one symbol, or None."""
    for mismatch in latest_mismatches():
        if (mismatch.account, mismatch.symbol) == (account, symbol):
            return mismatch
    return None


def describe(mismatch):
    outside = f", {mismatch.outside} confirmed outside" if mismatch.outside is not None else ""
    return (
        f"{mismatch.symbol}: orderstate holds {mismatch.ours}, the broker {mismatch.broker}"
        f"{outside} (sync #{mismatch.run_id})"
    )


def mismatch_problems(now):
    """check_state's view of the latest check: one problem per mismatch."""
    return [
        Problem("position_mismatch", describe(row), {"symbol": [row.symbol]}, row.account)
        for row in latest_mismatches()
    ]


def mismatch_alert():
    rows = latest_mismatches()
    return "position_mismatches", {
        "count": len(rows),
        "symbols": [f"{row.symbol} (ours {row.ours}, broker {row.broker})" for row in rows],
    }
