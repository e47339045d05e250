"""Order-feed frames for tests, in the shape of Kotak's documented frame (18 keys)."""

import json

T0 = 1_784_865_005_000_000_000  # 24 Jul 2026 09:20:05 IST, as `updRecvTm` (ns)


def order_data(order_id, status, qty, filled, average, *, at=T0, symbol="TCS", side="B", **extra):
    data = {
        "nOrdNo": str(order_id),
        "exOrdId": "1100000059570001",
        "ordSt": status,
        "avgPrc": average,
        "qty": qty,
        "fldQty": filled,
        "unFldSz": qty - filled,
        "trnsTp": side,
        "prcTp": "L",
        "prod": "CNC",
        "exSeg": "nse_cm",
        "sym": symbol,
        "trdSym": f"{symbol}-EQ",
        "tok": "11536",
        "ordDtTm": "24-Jul-2026 09:20:05",
        "updRecvTm": at,
        "boeSec": at // 10**9,
        "exCfmTm": "24-Jul-2026 09:20:05",
    }
    data.update(extra)
    return data


def order_frame(order_id, status, qty, filled, average, **options):
    """One order frame as the text the server sends."""
    return json.dumps(
        {"type": "order", "data": order_data(order_id, status, qty, filled, average, **options)}
    )
