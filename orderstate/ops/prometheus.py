"""Prometheus exposition through prometheus-client: figures read at scrape time, and the
HTTP request counter.

The request counter is per process unless PROMETHEUS_MULTIPROC_DIR names a directory
when the process starts: then every process writes its counts there and a scrape sums
them (prometheus-client's multiprocess mode; gunicorn.conf.py sets it up), so whichever
gunicorn worker answers, it reports every worker's requests.
"""

import os

from prometheus_client import CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, UnknownMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
COUNTED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
KINDS = {"gauge": GaugeMetricFamily, "counter": CounterMetricFamily}  # others: untyped

# Not in prometheus-client's global registry: each scrape builds its own (see `exposition`).
REQUESTS = Counter(
    "orderstate_http_requests",
    "HTTP responses by method and status, summed over the server's worker processes "
    "when PROMETHEUS_MULTIPROC_DIR is set, else counted by the answering process.",
    ["method", "status"],
    registry=None,
)


def count_request(method, status):
    # Unknown methods share one label, so a client cannot grow the series without bound.
    method = method if method in COUNTED_METHODS else "OTHER"
    REQUESTS.labels(method=method, status=str(status)).inc()


class FamiliesCollector(Collector):
    """Yields the `Family` rows a function gives (name, kind, help, [(labels, value)])."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        for family in self.families():
            names = [key for key, _value in family.samples[0][0]] if family.samples else []
            kind = KINDS.get(family.kind, UnknownMetricFamily)
            metric = kind(family.name, family.help, labels=names)
            for labels, value in family.samples:
                metric.add_metric([str(label) for _key, label in labels], value)
            yield metric


def exposition(families, *, with_requests):
    """The text format of `families()` (read now), and the request counter when asked."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FamiliesCollector(families))
    if with_requests:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            multiprocess.MultiProcessCollector(registry)
        else:
            registry.register(REQUESTS)
    return generate_latest(registry)
