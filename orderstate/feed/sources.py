"""Where frames come from: a recorded file, the paper broker's market, (in kotak.py) Kotak's feed.

A source hands the stream `Event`s one at a time from `next_event(timeout)`:
a raw frame exactly as the broker sent it, "connected" (the stream then runs a
full sync), "disconnected", or "end" (a file ran out). The stream calls it
from its own thread, the one that owns the database connection.
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Event:
    kind: str  # "frame", "connected", "disconnected" or "end"
    raw: object = None  # a frame's text (or bytes, or decoded object)
    reason: str = ""  # why a connection ended
    refused: bool = False  # the server refused the session: log in again before reconnecting


FRAME, CONNECTED, DISCONNECTED, END = "frame", "connected", "disconnected", "end"


class ReplaySource:
    """A file of recorded frames, one raw frame per line, replayed once; then "end"."""

    name = "replay"

    def __init__(self, path):
        self.path = Path(path)
        self.lines = None

    def start(self):
        self.lines = self.path.open(encoding="utf-8")

    def next_event(self, timeout):
        for line in self.lines:
            text = line.rstrip("\r\n")
            if text.strip():
                return Event(FRAME, raw=text)
        return Event(END)

    def session_refused(self):
        """A recorded session has no login to renew."""

    def stop(self):
        if self.lines is not None:
            self.lines.close()


class PaperSource:
    """The paper broker's market, stepped every `step_seconds`; each order it moves is a frame."""

    name = "paper"

    def __init__(self, broker, step_seconds, *, clock=time.monotonic, sleep=time.sleep):
        self.broker = broker
        self.step_seconds = step_seconds
        self.clock = clock
        self.sleep = sleep
        self.pending = []
        self.next_step = None

    def start(self):
        self.pending = [Event(CONNECTED)]
        self.next_step = self.clock()

    def next_event(self, timeout):
        if self.pending:
            return self.pending.pop(0)
        wait = self.next_step - self.clock()
        if wait > 0:
            self.sleep(min(wait, timeout))
            return None
        self.next_step = self.clock() + self.step_seconds
        # Text, as a broker sends it, so a paper session can be saved and replayed.
        self.pending = [Event(FRAME, raw=json.dumps(frame)) for frame in self.broker.market_step()]
        return self.pending.pop(0) if self.pending else None

    def session_refused(self):
        """The paper market refuses no one."""

    def stop(self):
        self.pending = []
