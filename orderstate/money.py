"""Rupee amounts as Decimal: the paisa, the places of an average, and how prices land on them.

Defined once, in the client's distribution (`orderstate_client.money`), so the
bot rounds exactly as the server does; this name stays for the server's code
and for scripts that import it from here.
"""

from orderstate_client.money import AVERAGE_PLACES, PAISA, on_tick, to_paise, weighted_average

__all__ = ["AVERAGE_PLACES", "PAISA", "on_tick", "to_paise", "weighted_average"]
