"""notify's pure composing part: which e-mails an event causes, and each e-mail's message.

```python
for planned in emails_for(envelope, state_before, state_after, directory):
    message = build_message(planned, ticket=state_after, envelope=envelope,
                            directory=directory, signer=signer, templates=templates,
                            thread_ids=earlier_ids[planned.recipient])
```

No I/O beyond reading templates, no clock: sending, recording and de-duplicating are the
service's.
"""

from .links import RATINGS, RequesterLinks, requester_links
from .message import AGENT_SUBJECT_LABELS, build_message, context_for, subject_for
from .recipients import (
    AGENT_TEMPLATES,
    AUTOMATIC_TEMPLATES,
    REQUESTER_TEMPLATES,
    TEMPLATES,
    Planned,
    TemplateName,
    emails_for,
)
from .render import Templates

__all__ = [
    "AGENT_SUBJECT_LABELS",
    "AGENT_TEMPLATES",
    "AUTOMATIC_TEMPLATES",
    "RATINGS",
    "REQUESTER_TEMPLATES",
    "TEMPLATES",
    "Planned",
    "RequesterLinks",
    "TemplateName",
    "Templates",
    "build_message",
    "context_for",
    "emails_for",
    "requester_links",
    "subject_for",
]
