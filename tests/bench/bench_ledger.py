"""Recording a fill with the lot ledger at 0, 1,000 and 10,000 lots for the symbol.

Every counted fill posts a lot in its symbol's ledger (orderstate/actions/ledger.py);
a sell matches the oldest unmatched buys, read from the open end of the ledger (the
partial index `lot_open_end`), so a fill must cost the same however many lots lie
behind it. Measured through `OrderStateManager.record_fill`, one order per fill, a
buy then a sell, in execution order, on symbols whose ledger holds:

- `empty`: no lot yet: today's fill cost, the baseline;
- `closed + tail`: trades closed from flat to flat, then an open tail of 4 buy lots;
  each sell matches the oldest lot of the tail;
- `all open`: that many 1-share buys never sold; each sell finds the oldest open lot
  among them all.

Beside them, the yardstick of a fill with no ledger at all: tests/bench/yardstick.py's
`fill_order` (lock the order, insert a Fill, update the order, write its event). All
variants' fills are interleaved one by one, so the machine's drift hits them alike;
`ledger` is the part of a fill spent in `ledger.post_fills`. Then a late fill (executed
before the symbol's latest lot), which replays the ledger from the last moment the
position stood at zero: O(lots since then) by design, reported as it is (on PostgreSQL
the one at 10,000 lots with the JIT compiler off, unless BENCH_LEDGER_LATE_JIT=on).

The history is seeded as orders executed by one fill each, whose ledger the project's
own rebuild (`ledger_rebuild.rebuild_ledger`) derives in one transaction. Before
measuring, a short history seeded that way is compared row by row with the same fills
recorded one at a time through the manager, and `find_problems()` must report nothing
but the seeded open positions' missing sell orders; after measuring, again.

Runs on a throwaway SQLite file, and also on PostgreSQL when BENCH_DATABASE_URL names a
server (a scratch database, created and dropped). Each engine runs in its own child
process, since settings are read at import.

    SECRET_KEY=bench DEBUG=false .venv/bin/python tests/bench/bench_ledger.py
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres ... (same command)
    ... bench_ledger.py --profile [late] [DATABASE_URL]  # cProfile at 10,000 open lots
    ... bench_ledger.py --late 1000,4000,10000 [DATABASE_URL]  # a late fill at each size

`--profile` and `--late` use a fresh SQLite file unless given the URL of an empty
database you created; they keep the server's settings (PGOPTIONS='-c jit=off' turns
PostgreSQL's JIT off).
"""

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.engines import child_result, scratch_postgres  # noqa: E402
from tests.bench.results import record  # noqa: E402

FILLS = int(os.environ.get("BENCH_LEDGER_FILLS", "200"))  # timed fills of each variant
WARM_UP = 10
LATE_FILLS = 3
# The late fill at 10,000 lots runs with PostgreSQL's JIT off unless this is "on": with it,
# the replay's one UPDATE of every lot is compiled for about 12 minutes here, which no
# statement_timeout interrupts (docs/performance.md).
LATE_JIT = os.environ.get("BENCH_LEDGER_LATE_JIT", "off") == "on"
PROFILE_ROWS = int(os.environ.get("BENCH_PROFILE_ROWS", "30"))
TARGET = "<= 1.5"
# One closed trade of the history: two buys, two sells, back to flat; then the open tail.
CYCLE = (("BUY", 10), ("BUY", 10), ("SELL", 15), ("SELL", 5))
TAIL = (("BUY", 10),) * 4
# (symbol, shape, lots in the ledger before the first timed fill, shares each fill moves);
# TAIL0 is the others' baseline on the same path: a held position, each sell one match.
VARIANTS = (
    ("EMPTY", "empty", 0, 5),
    ("TAIL0", "open tail only", len(TAIL), 5),
    ("TAILK", "closed + tail", 1_000, 5),
    ("TAILXK", "closed + tail", 10_000, 5),
    ("OPENK", "all open", 1_000, 1),
    ("OPENXK", "all open", 10_000, 1),
)
LATE = {"EMPTY": LATE_FILLS, "TAILXK": LATE_FILLS, "OPENK": LATE_FILLS, "OPENXK": 1}
YARDSTICK = "YARD"
ACCEPTED_PROBLEMS = {"unprotected_position"}  # seeded open positions have no active sell


def history(shape, lots):
    """(side, quantity) of each of `lots` fills of a ledger of `shape`, in execution order."""
    if shape == "all open":
        return [("BUY", 1)] * lots
    if shape == "empty":
        return []
    cycles, rest = divmod(lots - len(TAIL), len(CYCLE))
    if rest:
        raise ValueError(f"{lots} lots are not whole trades of {len(CYCLE)} plus the tail")
    return list(CYCLE) * cycles + list(TAIL)


def price(number):
    return Decimal("100.00") + Decimal(number % 97) / 20


# One engine, in a child process --------------------------------------------------


def setup_django(database_url):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderstate.settings")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(symbol, fills, start):
    """`fills` as executed orders of `symbol`, one Fill each a minute apart from `start`,
    and their ledger derived by the project's own rebuild."""
    from django.db import transaction

    from orderstate.actions.base import Context
    from orderstate.actions.ledger_rebuild import rebuild_ledger
    from orderstate.models import EventSource, Fill, Order, Source
    from orderstate.models.common import DEFAULT_ACCOUNT
    from orderstate.states import Status

    orders = []
    for number, (side, quantity) in enumerate(fills):
        at = start + timedelta(minutes=number)
        orders.append(
            Order(
                broker_order_id=f"{symbol}-{number}",
                symbol=f"{symbol}-EQ",
                base_symbol=symbol,
                side=side,
                quantity=quantity,
                price=price(number),
                filled_quantity=quantity,
                average_price=price(number),
                status=Status.EXECUTED,
                placed_at=at,
                updated_at=at,
                closed_at=at,
                source=Source.BOT,
            )
        )
    with transaction.atomic():
        Order.objects.bulk_create(orders, batch_size=2_000)
        Fill.objects.bulk_create(
            (
                Fill(
                    order=order,
                    fill_id=f"F-{order.broker_order_id}",
                    quantity=order.quantity,
                    price=order.price,
                    at=order.placed_at,
                )
                for order in orders
            ),
            batch_size=2_000,
        )
    rebuild_ledger(Context.of(EventSource.CLI), DEFAULT_ACCOUNT, symbol)


def record_one_by_one(manager, symbol, fills, start):
    """The same fills as `seed`, each registered and recorded through the manager."""
    for number, (side, quantity) in enumerate(fills):
        order_id = f"{symbol}-{number}"
        manager.register_order(side, f"{symbol}-EQ", order_id, price(number), quantity)
        manager.record_fill(
            order_id,
            quantity,
            price(number),
            fill_id=f"F-{order_id}",
            at=start + timedelta(minutes=number),
        )


def ledger_rows(symbol):
    """A symbol's lots, matches, trades and position, with row ids replaced by positions
    in the ledger and order ids without the symbol, so two symbols' ledgers compare."""
    from orderstate.models import Lot, LotMatch, Position, Trade

    lots = list(Lot.objects.filter(symbol=symbol).select_related("order").order_by("at", "id"))
    trades = list(Trade.objects.filter(symbol=symbol).order_by("entry_time", "id"))
    lot_index = {lot.pk: index for index, lot in enumerate(lots)}
    trade_index = {trade.pk: index for index, trade in enumerate(trades)}

    def order_id(order):
        return order.broker_order_id.removeprefix(symbol) if order else None

    position = Position.objects.get(symbol=symbol)
    return {
        "lots": [
            (
                lot.side,
                lot.quantity,
                lot.price,
                lot.at,
                lot.open_quantity,
                lot.outside_quantity,
                lot.position_after,
                trade_index.get(lot.trade_id),
                lot_index.get(lot.part_of_id),
                order_id(lot.order),
            )
            for lot in lots
        ],
        "matches": sorted(
            (lot_index[buy], lot_index[sell], quantity)
            for buy, sell, quantity in LotMatch.objects.filter(buy__symbol=symbol).values_list(
                "buy", "sell", "quantity"
            )
        ),
        "trades": [
            (
                trade.status,
                trade.quantity,
                trade.cost,
                trade.entry_price,
                trade.entry_time,
                trade.closed_quantity,
                trade.matched_cost,
                trade.proceeds,
                trade.exit_price,
                trade.exit_time,
                trade.realised_pnl,
                trade.exit_reason,
            )
            for trade in trades
        ],
        "position": (
            position.net_quantity,
            position.last_at,
            trade_index.get(position.open_trade_id),
        ),
    }


def check_seeding(manager, start):
    """The seeded ledger is the one the manager writes fill by fill, for each shape."""
    for number, (shape, lots) in enumerate((("closed + tail", 16), ("all open", 12))):
        fills = history(shape, lots)
        seeded, recorded = f"CHECKSEED{number}", f"CHECKREC{number}"
        seed(seeded, fills, start)
        record_one_by_one(manager, recorded, fills, start)
        if ledger_rows(seeded) != ledger_rows(recorded):
            raise AssertionError(f"the seeded {shape} ledger differs from the manager's")


def check_problems(when):
    from orderstate.checks import find_problems

    problems = [p for p in find_problems() if p.code not in ACCEPTED_PROBLEMS]
    if problems:
        raise AssertionError(f"{when}: {[problem.message for problem in problems]}")


class Symbol:
    """Fills of one symbol in execution order, one order each: the order registered
    (untimed), then its fill recorded; `ledger_seconds` adds up `ledger.post_fills`."""

    def __init__(self, manager, name, quantity, clock, ledger_seconds, record=None):
        self.manager, self.name, self.quantity = manager, name, quantity
        self.clock, self.ledger_seconds = clock, ledger_seconds
        self.record = record or manager.record_fill
        self.count = 0
        self.took = {"BUY": [], "SELL": [], "ledger": []}

    def register(self, side):
        order_id = f"{self.name}-M{self.count}"
        self.count += 1
        self.manager.register_order(side, f"{self.name}-EQ", order_id, "100.00", self.quantity)
        return order_id

    def fill(self, order_id, at=None):
        """Seconds to record the whole of `order_id` filled at `at` (default: next tick)."""
        at = at or next(self.clock)
        start = time.perf_counter()
        self.record(order_id, self.quantity, "101.00", fill_id=f"F-{order_id}", at=at)
        return time.perf_counter() - start

    def pair(self, timed=True):
        for side in ("BUY", "SELL"):
            order_id = self.register(side)
            ledger_before = self.ledger_seconds[0]
            took = self.fill(order_id)
            if timed:
                self.took[side].append(took)
                self.took["ledger"].append(self.ledger_seconds[0] - ledger_before)


def yardstick_fill(order_id, quantity, price, fill_id, at):
    """The yardstick's fill transaction with the manager's arguments (it keeps no time)."""
    from tests.bench import yardstick

    yardstick.fill_order(order_id, {"quantity": quantity, "price": Decimal(price)}, None)


def time_ledger():
    """Wrap `ledger.post_fills` (as `fills.apply_fills` calls it) to add up its seconds."""
    from orderstate.actions import ledger

    spent = [0.0]
    original = ledger.post_fills

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    ledger.post_fills = timed
    return spent


def clock(start):
    moment = start
    while True:
        moment += timedelta(seconds=1)
        yield moment


def prepare(start):
    """Seeded symbols, checked; returns the seconds the seeding took."""
    from orderstate.manager import OrderStateManager

    check_seeding(OrderStateManager(), start - timedelta(days=60))
    began = time.perf_counter()
    for name, shape, lots, _ in VARIANTS:
        seed(name, history(shape, lots), start - timedelta(days=30))
    seeded = time.perf_counter() - began
    check_problems("seeded")
    return seeded


def lots_since_flat(symbol, at):
    """How many lots a fill at `at` replays: those after the last flat point before it."""
    from orderstate.models import Lot

    lots = Lot.objects.filter(symbol=symbol)
    flat = lots.filter(position_after=0, at__lt=at).order_by("-at", "-id").first()
    return (lots.filter(at__gt=flat.at) if flat else lots).count()


def late_fills(symbol, count=LATE_FILLS, jit=True):
    """ms of each of `count` buys executed just before the symbol's latest lot; with
    `jit` False, PostgreSQL's JIT compiler is off for them (see LATE_JIT)."""
    from django.db import connection

    from orderstate.models import Position

    last_at = Position.objects.get(symbol=symbol.name).last_at
    switch = not jit and connection.vendor == "postgresql"
    figures = []
    for number in range(count):
        at = last_at - timedelta(milliseconds=100 * (count - number))
        replayed = lots_since_flat(symbol.name, at)
        order_id = symbol.register("BUY")
        if switch:
            with connection.cursor() as cursor:
                cursor.execute("SET jit = off")
        took = symbol.fill(order_id, at=at)
        if switch:
            with connection.cursor() as cursor:
                cursor.execute("RESET jit")
        figures.append({"lots": replayed, "ms": took * 1000, "jit": not switch})
    return figures


def queries_of_fills(symbol):
    """{side: the queries of one fill}, a buy then a sell."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    captured = {}
    for side in ("BUY", "SELL"):
        order_id = symbol.register(side)
        with CaptureQueriesContext(connection) as queries:
            symbol.fill(order_id)
        captured[side] = queries.captured_queries
    return captured


def open_end_plan(sell_queries):
    """The database's plan for the sell's read of the open end, as the ledger sent it."""
    from django.db import connection

    sql = next(
        q["sql"] for q in sell_queries if "open_quantity" in q["sql"] and "LIMIT" in q["sql"]
    )
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
    with connection.cursor() as cursor:
        cursor.execute(explain + sql)
        rows = cursor.fetchall()
    return [" ".join(str(cell) for cell in row) for row in rows]


def percentile(seconds, fraction):
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def run_engine(database_url):
    setup_django(database_url)
    from django.db import connection
    from django.utils import timezone

    from orderstate.manager import OrderStateManager

    start = timezone.now() - timedelta(days=1)
    seeded = prepare(start)
    manager = OrderStateManager()
    spent = time_ledger()
    ticks = clock(start)
    symbols = {
        name: Symbol(manager, name, quantity, ticks, spent) for name, _, _, quantity in VARIANTS
    }
    symbols[YARDSTICK] = Symbol(manager, YARDSTICK, 5, ticks, spent, record=yardstick_fill)
    order = list(symbols.values())
    for symbol in order:
        for _ in range(WARM_UP // 2):
            symbol.pair(timed=False)
    for number in range(FILLS // 2):
        for symbol in order if number % 2 == 0 else reversed(order):
            symbol.pair()
    figures, queries = {}, {}
    for name, symbol in symbols.items():
        fills = symbol.took["BUY"] + symbol.took["SELL"]
        queries[name] = queries_of_fills(symbol)
        figures[name] = {
            "p50": percentile(fills, 0.5),
            "p95": percentile(fills, 0.95),
            "sell_p50": percentile(symbol.took["SELL"], 0.5),
            "ledger_p50": percentile(symbol.took["ledger"], 0.5),
            "queries": {side: len(captured) for side, captured in queries[name].items()},
        }
    plan = open_end_plan(queries["OPENXK"]["SELL"])
    check_problems("after the timed fills")
    late = {
        name: late_fills(symbols[name], count, jit=LATE_JIT or name != "OPENXK")
        for name, count in LATE.items()
    }
    check_problems("after the late fills")
    print(
        json.dumps(
            {
                "vendor": connection.vendor,
                "seed_seconds": seeded,
                "figures": figures,
                "late": late,
                "plan": plan,
            }
        )
    )


def profile(what, database_url):
    """cProfile at 10,000 open lots of `what`: "fills" (buy, sell, ...) or one "late" fill."""
    import cProfile
    import pstats

    setup_django(database_url)
    from django.utils import timezone

    from orderstate.manager import OrderStateManager

    start = timezone.now() - timedelta(days=1)
    seed("OPENXK", history("all open", 10_000), start - timedelta(days=30))
    symbol = Symbol(OrderStateManager(), "OPENXK", 1, clock(start), [0.0])
    for _ in range(WARM_UP // 2):
        symbol.pair(timed=False)
    profiler = cProfile.Profile()
    if what == "late":
        profiler.runcall(late_fills, symbol, 1)
    else:
        profiler.runcall(lambda: [symbol.pair() for _ in range(FILLS // 2)])
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(PROFILE_ROWS)


def late_curve(sizes, database_url):
    """One late fill into an all-open position of each size: how a replay grows."""
    setup_django(database_url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from orderstate.manager import OrderStateManager

    start = timezone.now() - timedelta(days=1)
    for size in sizes:
        name = f"LATE{size}"
        seed(name, history("all open", size), start - timedelta(days=30))
        symbol = Symbol(OrderStateManager(), name, 1, clock(start), [0.0])
        symbol.pair(timed=False)
        with CaptureQueriesContext(connection) as queries:
            figure = late_fills(symbol, 1)[0]
        slowest = max(queries.captured_queries, key=lambda query: float(query["time"]))
        print(
            f"{connection.vendor}: late fill replaying {figure['lots']:,} lots: "
            f"{figure['ms']:,.0f} ms; its slowest statement {float(slowest['time']) * 1000:,.0f} "
            f"ms: {slowest['sql'][:50]}...",
            flush=True,
        )


# The parent: engines, the table ---------------------------------------------------


def main():
    with tempfile.TemporaryDirectory(prefix="bench_ledger_") as directory:
        url = sys.argv[-1] if "://" in sys.argv[-1] else f"sqlite:///{directory}/one.sqlite3"
        if "--profile" in sys.argv:
            profile("late" if "late" in sys.argv else "fills", url)
            return
        if "--late" in sys.argv:
            sizes = sys.argv[sys.argv.index("--late") + 1]
            late_curve([int(size) for size in sizes.split(",")], url)
            return
        engines = [child_result(__file__, f"sqlite:///{directory}/bench.sqlite3")]
    server = os.environ.get("BENCH_DATABASE_URL")
    if server:
        with scratch_postgres(server, f"ledger_{os.getpid()}") as url:
            engines.append(child_result(__file__, url))
    print_table(engines)


def print_table(engines):
    print(
        f"One fill recorded through the manager, by lots in the symbol's ledger ({FILLS} "
        f"fills each, interleaved; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})"
    )
    header = (
        f"{'engine':<11}{'ledger':<16}{'lots':>7}{'p50 ms':>8}{'p95 ms':>8}{'sell p50':>9}"
        f"{'ledger p50':>11}{'queries b/s':>12}{'/ 0 lots':>9}{'/ 4 lots':>9}"
    )
    print(header)
    print("-" * len(header))
    for engine in engines:
        vendor, rows = engine["vendor"], engine["figures"]
        for name, shape, lots, _ in ((YARDSTICK, "no ledger", None, 0), *VARIANTS):
            row = rows[name]
            queries = f"{row['queries']['BUY']}/{row['queries']['SELL']}"
            ratios = ("", "") if lots is None else ratios_of(rows, name)
            print(
                f"{vendor:<11}{shape:<16}{'' if lots is None else f'{lots:,}':>7}"
                f"{row['p50']:>8.2f}{row['p95']:>8.2f}{row['sell_p50']:>9.2f}"
                f"{row['ledger_p50']:>11.2f}{queries:>12}{ratios[0]:>9}{ratios[1]:>9}"
            )
        for name, late in engine["late"].items():
            took = ", ".join(late_text(figure) for figure in late)
            print(
                f"{vendor}: late fill on {name}, replaying the {late[0]['lots']:,} lots since "
                f"the last flat point: {took}"
            )
        print(f"{vendor}: seeding took {engine['seed_seconds']:.1f} s; the sell's open-end read:")
        for line in engine["plan"]:
            print(f"    {line}")
        record_engine(vendor, rows, engine["late"])


def late_text(figure):
    return f"{figure['ms']:,.0f} ms" + ("" if figure["jit"] else " (JIT off)")


def ratios_of(rows, name):
    """A variant's p50 over the empty ledger's and over the 4-lot open tail's."""
    p50 = rows[name]["p50"]
    return f"{p50 / rows['EMPTY']['p50']:.2f}x", f"{p50 / rows['TAIL0']['p50']:.2f}x"


def record_engine(vendor, rows, late):
    empty, tail = rows["EMPTY"]["p50"], rows["TAIL0"]["p50"]
    record(
        f"ledger fill, {vendor}, empty ledger (today's fill)",
        empty,
        "ms",
        f"{rows[YARDSTICK]['p50']:.2f} ms locked fill, no ledger",
    )
    for name, label in (("TAILXK", "closed + tail"), ("OPENXK", "all open")):
        p50 = rows[name]["p50"]
        record(
            f"ledger fill, {vendor}, 10,000 lots {label}",
            p50,
            "ms",
            f"{empty:.2f} ms at 0 lots, {tail:.2f} at 4",
        )
        record(
            f"ledger fill 10,000 / 0 lots, {vendor}, {label}",
            p50 / empty,
            "x",
            f"{p50 / tail:.2f}x of 4 open lots",
            TARGET,
        )
    for name in ("OPENK", "OPENXK"):
        figures = late[name]
        jit = "" if figures[0]["jit"] else ", JIT off"
        record(
            f"late fill, {vendor}, {figures[0]['lots']:,} lots since flat{jit}",
            statistics.median(figure["ms"] for figure in figures),
            "ms",
            f"{empty:.2f} ms in order",
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--engine":
        run_engine(sys.argv[2])
    else:
        main()
