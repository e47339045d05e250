"""A broker for tests/sync/test_command.py whose login is always refused, as Kotak refuses a
wrong MPIN: selected in a `manage.py sync_broker` subprocess with
`ORDERSTATE_BROKER=tests.refusing_broker.RefusingBroker`. Each login try is counted
in the file `REFUSED_LOG_ENV` names."""

import os
from pathlib import Path

from orderstate.brokers.base import BrokerLoginRefused

REFUSED_LOG_ENV = "REFUSED_LOGIN_LOG"


class RefusingBroker:
    name = "refusing"

    def fetch_order_book(self):
        with Path(os.environ[REFUSED_LOG_ENV]).open("a") as log:
            log.write("login\n")
        raise BrokerLoginRefused(
            "kotak: MPIN validation refused: stCode=401, errMsg=Invalid MPIN. Check KOTAK_MPIN"
        )
