"""Ticketstream notify: ticket events in, e-mails out (issue 5)."""
