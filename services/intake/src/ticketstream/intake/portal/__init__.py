"""The requester portal: server-rendered pages to open a ticket and follow it by its link.

Everything here is HTML for people (no JavaScript needed); the same commands are offered to
programs by the JSON API. A requester reaches a ticket only through its secret link.
"""
