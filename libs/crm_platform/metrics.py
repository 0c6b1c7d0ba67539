"""Prometheus metrics shared by every service (names follow go-grpc-prometheus)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

GRPC_STARTED = Counter(
    "grpc_server_started_total",
    "RPCs started on the server.",
    ["grpc_type", "grpc_service", "grpc_method"],
)
GRPC_HANDLED = Counter(
    "grpc_server_handled_total",
    "RPCs completed on the server, regardless of success or failure.",
    ["grpc_type", "grpc_service", "grpc_method", "grpc_code"],
)
GRPC_HANDLING_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "Response latency of RPCs handled by the server.",
    ["grpc_type", "grpc_service", "grpc_method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_BACKLOG = Gauge("crm_outbox_backlog", "Events committed but not yet published.")
OUTBOX_PUBLISHED = Counter("crm_outbox_published_total", "Events the relay published.", ["topic"])
OUTBOX_FAILURES = Counter("crm_outbox_publish_failures_total", "Relay batches that failed.")
EVENTS_CONSUMED = Counter(
    "crm_events_consumed_total",
    "Events handled by a consumer, by outcome (handled, duplicate, ignored, dead_lettered).",
    ["consumer", "event_type", "outcome"],
)
CONSUMER_LAG = Gauge("crm_consumer_lag", "Messages behind the end of the partition.", ["topic", "partition"])
