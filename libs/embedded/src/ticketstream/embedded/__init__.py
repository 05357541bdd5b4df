"""Embedded NATS (JetStream) and PostgreSQL servers for development and tests.

Both run as child processes of the caller, in their own process group, and die with it
(``PR_SET_PDEATHSIG`` on Linux). See :func:`start_nats` and :func:`start_postgres`.
"""

from ._process import free_port
from .nats import EmbeddedNats, start_nats
from .postgres import EmbeddedPostgres, start_postgres, temporary_database
from .services import ServiceProcess, running_services

__all__ = [
    "EmbeddedNats",
    "EmbeddedPostgres",
    "ServiceProcess",
    "free_port",
    "running_services",
    "start_nats",
    "start_postgres",
    "temporary_database",
]
