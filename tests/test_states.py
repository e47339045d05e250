from orderstate.states import ACTIVE, TERMINAL, TRANSITIONS, Status, can_transition


def test_terminal_statuses_allow_no_move():
    for status in TERMINAL:
        assert TRANSITIONS[status] == frozenset()


def test_every_status_is_active_or_terminal():
    assert set(Status) == ACTIVE | TERMINAL
    assert not ACTIVE & TERMINAL


def test_late_fill_moves_are_only_allowed_when_asked_for():
    assert not can_transition(Status.CANCELLED, Status.EXECUTED)
    assert can_transition(Status.CANCELLED, Status.EXECUTED, late_fill=True)
    assert not can_transition(Status.EXECUTED, Status.CANCELLED, late_fill=True)
