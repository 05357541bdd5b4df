"""Ticketstream routing: the policy service.

The pure policy lives in small modules that read no clock and do no I/O (time is passed in):
:mod:`~ticketstream.routing.sla` (business-time arithmetic and a ticket's SLA clock),
:mod:`~ticketstream.routing.auto_close` (when a resolved ticket closes itself),
:mod:`~ticketstream.routing.assignment` (which agent a department's strategy picks) and
:mod:`~ticketstream.routing.routing_decision` (where a new or transferred ticket goes).
"""
