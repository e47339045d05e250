"""Pagination without COUNT(*): fetch one row more than a page to know if another follows.

Counting 100,000 orders on every refresh costs more than the page itself; a
trader needs "next" and "previous", not the total.
"""

from dataclasses import dataclass

PAGE_SIZE = 50
MAX_PAGE = 10_000


@dataclass(frozen=True)
class Page:
    rows: list
    number: int
    has_next: bool

    @property
    def has_previous(self):
        return self.number > 1

    @property
    def next_number(self):
        return self.number + 1

    @property
    def previous_number(self):
        return self.number - 1


def page_number(value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), MAX_PAGE)


def paginate(queryset, request, size=PAGE_SIZE):
    number = page_number(request.GET.get("page"))
    start = (number - 1) * size
    rows = list(queryset[start : start + size + 1])
    return Page(rows=rows[:size], number=number, has_next=len(rows) > size)
