"""One thing check_state found wrong: a code, a message a person reads, and the ids involved."""

from dataclasses import asdict, dataclass, field


@dataclass
class Problem:
    code: str
    message: str
    ids: dict = field(default_factory=dict)  # {"order": [broker ids], "trade": [pks], ...}
    account: str = ""

    def as_dict(self):
        return asdict(self)
