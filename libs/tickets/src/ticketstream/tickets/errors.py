"""Errors the ticket rules raise.

A rejected command raises :class:`TicketRuleViolation` and emits nothing. Its ``rule`` is a
stable code an entrypoint can map to a status (``ticket_not_found`` → 404, ``not_requester``
and ``not_allowed_for_actor`` → 403, ``invalid_command`` → 422, everything else → 409) and
its ``message`` says in plain words why.
"""

from __future__ import annotations

from typing import Literal, TypeAlias, get_args

__all__ = ["RULES", "DomainError", "InvalidHistoryError", "Rule", "TicketRuleViolation"]

Rule: TypeAlias = Literal[
    "ticket_exists",
    "ticket_not_found",
    "not_allowed_for_actor",
    "not_requester",
    "invalid_command",
    "ticket_closed",
    "invalid_transition",
    "unchanged",
    "already_routed",
    "already_assigned",
    "not_assigned",
    "already_breached",
    "sla_met",
    "feedback_already_given",
    "duplicate_email",
]
"""The stable code of every rule a command can break."""

RULES: frozenset[Rule] = frozenset(get_args(Rule))
"""Every :data:`Rule` code, for entrypoints and tests that map or enumerate them."""


class DomainError(Exception):
    """Base of every error raised by the ticket rules."""


class TicketRuleViolation(DomainError):  # noqa: N818 -- the name the design uses
    """A command was rejected: ``rule`` names the broken rule, ``message`` explains it."""

    def __init__(self, rule: Rule, message: str) -> None:
        super().__init__(rule, message)
        self.rule: Rule = rule
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} [{self.rule}]"


class InvalidHistoryError(DomainError):
    """A stored history cannot be folded into a ticket (a bug or a corrupt stream).

    Raised by ``evolve`` when the first event is not ``TicketCreated``, when a ticket is
    created twice, or when an event belongs to another ticket. Rules about *when* an event
    may happen are not re-checked on replay: events are facts.
    """
