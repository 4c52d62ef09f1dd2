"""What the process measures for Prometheus (``GET /metrics``).

prometheus_client's metrics live in its process-wide registry by design: one process, one set of
numbers, whichever part of it counts.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DECISIONS = Counter(
    "firstline_decisions_total", "Decisions of the answer engine", ["outcome", "reason"]
)
DECISION_SECONDS = Histogram(
    "firstline_decision_seconds",
    "Time from a question to its decision, batching wait included",
    buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0),
)
TICKETS = Gauge("firstline_tickets", "Tickets by status", ["status"])
FAQ_ENTRIES = Gauge("firstline_faq_entries", "FAQ entries the bot answers with (in the index)")
TELEGRAM_ERRORS = Counter(
    "firstline_telegram_errors_total",
    "Errors the Telegram Bot API returned, retried ones included",
    ["endpoint", "error"],
)
API_REQUEST_SECONDS = Histogram(
    "firstline_api_request_seconds",
    "Admin API requests by route and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
