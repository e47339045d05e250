from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from orderstate.manager import OrderStateManager
from orderstate.models import Order

# (symbol, ticker, qty, buy price, target) for a small paper portfolio.
PORTFOLIO = [
    ("RELIANCE-EQ", "RELIANCE.NS", 10, "2450.50", "2575.00"),
    ("TCS-EQ", "TCS.NS", 5, "3890.00", "4050.00"),
    ("INFY-EQ", "INFY.NS", 12, "1510.25", "1585.00"),
    ("HDFCBANK-EQ", "HDFCBANK.NS", 8, "1622.40", "1700.00"),
    ("M&M-EQ", "M&M.NS", 6, "2890.00", "3025.00"),
]


class Command(BaseCommand):
    help = "Load a small paper-trading portfolio, once (does nothing when orders exist)."

    def handle(self, *args, **options):
        if Order.objects.exists():
            self.stdout.write("Demo data: orders already present, nothing loaded.")
            return
        manager = OrderStateManager(source="cli")
        start = timezone.now() - timedelta(days=3)
        for index, (symbol, ticker, qty, buy, target) in enumerate(PORTFOLIO):
            buy_id = f"DEMO-B{index + 1:03d}"
            manager.register_buy_order(
                symbol, buy_id, buy, qty, ticker, placed_at=start, strategy="demo"
            )
            manager.mark_order_executed(symbol, buy_id, buy)
            manager.register_sell_order(symbol, f"DEMO-S{index + 1:03d}", target, qty, ticker)
        manager.record_fill("DEMO-S002", 2, "4050.00", fill_id="DEMO-F1")
        manager.add_failed_order(
            "ITC-EQ", "ITC.NS", qty=40, close="438.15", reason="insufficient funds"
        )
        self.stdout.write(f"Demo data: {len(PORTFOLIO)} positions with sell orders loaded.")
