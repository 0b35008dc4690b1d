"""One structlog processor chain for the whole process: JSON off a terminal, console on one.

Standard library logging (a plugin's `logging.getLogger(__name__)`, aiohttp,
asyncpg) goes through the same chain: the same JSON lines, with the request id
and the other context bound for the request, and the logger's name. Every line
logged inside a span (a request, a delivery attempt) carries its `trace_id`.
"""

from __future__ import annotations

import logging
import sys

import structlog

from gateway.tracing import add_trace_ids


class _Stderr:
    """Whatever `sys.stderr` is at the time of writing (it is swapped under test capture)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


# Cached loggers skip the configuration lookup on every call (the hot path logs per order);
# a test process turns it off so that `structlog.testing.capture_logs` sees every line.
CACHE_LOGGERS = True


class _StdlibToStructlog(logging.StreamHandler):  # type: ignore[type-arg]
    """The root logger's handler this module installs (and replaces when called again)."""


def configure_logging(level: str = "info", *, json: bool | None = None) -> None:
    if json is None:
        json = not sys.stderr.isatty()
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    threshold = logging.getLevelNamesMapping()[level.upper()]
    handler = _StdlibToStructlog(_Stderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                add_trace_ids,
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StdlibToStructlog)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(threshold)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_trace_ids,  # the current span's trace_id and span_id
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.PrintLoggerFactory(_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=CACHE_LOGGERS,
    )
