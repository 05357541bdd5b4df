"""The seed's example scenario, "User Unable to Access Email", played through the public
HTTP interfaces of a running Ticketstream (``make demo``).

- :mod:`demo.desk`: the system as its users see it: intake (portal, e-mail, commands),
  projections (queries, the audit trail, reports) and the mail folder.
- :mod:`demo.scenario`: the steps, each checked against projections and the e-mails sent;
  the end-to-end tests play the same steps.
- :mod:`demo.system`: the system ``make run`` started, or one of our own for the demo.
"""
