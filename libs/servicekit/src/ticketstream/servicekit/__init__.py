"""What every Ticketstream HTTP service shares.

Settings from the environment (:class:`ServiceSettings`, :func:`load_settings`),
structured logging (:func:`configure_logging`), correlation ids, the standard error
body (:class:`ApiError`), the app with probes and metrics (:func:`create_app`) and the
server (:func:`serve`). A service's ``main.py``::

    settings = load_settings(IntakeSettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    app = create_app("Ticketstream intake", __version__, settings, readiness, lifespan)
    app.include_router(tickets_router)
    serve(app, settings)
"""

from ticketstream.servicekit.app import create_app
from ticketstream.servicekit.auth import bearer_token, unauthorized
from ticketstream.servicekit.body_limit import BodySizeLimitMiddleware, BodyTooLargeError
from ticketstream.servicekit.correlation import (
    CORRELATION_ID_HEADER,
    CorrelationIdMiddleware,
    correlation_id,
    is_valid_correlation_id,
    new_correlation_id,
)
from ticketstream.servicekit.errors import (
    ApiError,
    ErrorInfo,
    ErrorResponse,
    error_body,
    error_response,
)
from ticketstream.servicekit.health import ReadinessCheck
from ticketstream.servicekit.logging import (
    bind_correlation_id,
    configure_logging,
    current_correlation_id,
    get_logger,
    log_context,
)
from ticketstream.servicekit.runner import serve, uvicorn_config, worker_index
from ticketstream.servicekit.settings import (
    DatabaseServiceSettings,
    ServiceSettings,
    format_settings_error,
    load_settings,
)

__all__ = [
    "CORRELATION_ID_HEADER",
    "ApiError",
    "BodySizeLimitMiddleware",
    "BodyTooLargeError",
    "CorrelationIdMiddleware",
    "DatabaseServiceSettings",
    "ErrorInfo",
    "ErrorResponse",
    "ReadinessCheck",
    "ServiceSettings",
    "bearer_token",
    "bind_correlation_id",
    "configure_logging",
    "correlation_id",
    "create_app",
    "current_correlation_id",
    "error_body",
    "error_response",
    "format_settings_error",
    "get_logger",
    "is_valid_correlation_id",
    "load_settings",
    "log_context",
    "new_correlation_id",
    "serve",
    "unauthorized",
    "uvicorn_config",
    "worker_index",
]
