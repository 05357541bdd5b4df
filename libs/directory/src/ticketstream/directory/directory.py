"""The directory: everything the services must agree on, validated as a whole."""

from __future__ import annotations

from datetime import timedelta
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from ticketstream.events import PRIORITIES, Priority

from .durations import Duration
from .models import (
    Agent,
    Category,
    Department,
    HelpTopic,
    HelpTopicId,
    Organization,
    SlaPlan,
)
from .references import find_problems
from .tokens import matching_hash

__all__ = ["Directory", "UnknownIdError"]


class UnknownIdError(LookupError):
    """A lookup asked for an id the directory does not have."""

    def __init__(self, kind: str, id: str, known: tuple[str, ...]) -> None:
        self.kind = kind
        self.id = id
        listed = ", ".join(known) or "none"
        super().__init__(f"no {kind} {id!r} in the directory (known: {listed})")


_EntryT = TypeVar("_EntryT", Agent, Category, Department, HelpTopic, SlaPlan)


class _Index(Generic[_EntryT]):
    """Entries of one kind by id, in file order (the first one wins on a repeated id)."""

    def __init__(self, kind: str, entries: tuple[_EntryT, ...]) -> None:
        self.kind = kind
        self.by_id: dict[str, _EntryT] = {}
        for entry in entries:
            self.by_id.setdefault(entry.id, entry)
        self.ids = tuple(self.by_id)

    def __eq__(self, other: object) -> bool:
        # Directories compare their private attributes too: equal entries, equal indexes.
        return isinstance(other, _Index) and (self.kind, self.by_id) == (other.kind, other.by_id)

    __hash__ = None  # type: ignore[assignment]

    def get(self, id: str) -> _EntryT:
        try:
            return self.by_id[id]
        except KeyError:
            raise UnknownIdError(self.kind, id, self.ids) from None


class Directory(BaseModel):
    """Help topics, departments, agents, SLA plans, categories and priorities of the desk.

    Build it with :func:`~ticketstream.directory.load_directory` (or ``model_validate``).
    Validation checks each entry and then every reference between entries; a failure is a
    ``pydantic.ValidationError`` whose locations name the key (``help_topics[0].department``).
    Lookups by id raise :class:`UnknownIdError` for an id the directory does not have.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    organization: Organization
    priorities: tuple[Priority, ...] = Field(
        default=PRIORITIES,
        min_length=1,
        description="The priorities tickets may have, in the order they are offered",
    )
    categories: tuple[Category, ...] = ()
    sla_plans: tuple[SlaPlan, ...] = ()
    departments: tuple[Department, ...] = ()
    agents: tuple[Agent, ...] = ()
    help_topics: tuple[HelpTopic, ...] = ()
    email_help_topic: HelpTopicId | None = Field(
        default=None,
        description="The help topic of tickets opened by e-mail (default: the first topic)",
    )
    auto_close_after: Duration = Field(
        default=timedelta(hours=72),
        description="A resolved ticket with no requester response for this long is closed",
    )

    _categories: _Index[Category] = PrivateAttr()
    _sla_plans: _Index[SlaPlan] = PrivateAttr()
    _departments: _Index[Department] = PrivateAttr()
    _agents: _Index[Agent] = PrivateAttr()
    _help_topics: _Index[HelpTopic] = PrivateAttr()

    @model_validator(mode="after")
    def _check_references(self) -> Directory:
        # Indexes first: the reference rules use the id lookups (first entry wins on a
        # duplicate id, which is itself reported).
        self._categories = _Index("category", self.categories)
        self._sla_plans = _Index("SLA plan", self.sla_plans)
        self._departments = _Index("department", self.departments)
        self._agents = _Index("agent", self.agents)
        self._help_topics = _Index("help topic", self.help_topics)
        problems = find_problems(self)
        if problems:
            raise ValidationError.from_exception_data(
                "Directory",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(p.rule, "{message}", {"message": p.message}),
                        loc=p.loc,
                        input=p.value,
                    )
                    for p in problems
                ],
            )
        return self

    @property
    def email_topic(self) -> HelpTopic:
        """The help topic a ticket opened by e-mail gets."""
        if self.email_help_topic is not None:
            return self.help_topic(self.email_help_topic)
        return self.help_topics[0]

    # --- lookups by id --------------------------------------------------------------------

    def help_topic(self, id: str) -> HelpTopic:
        """The help topic ``id``."""
        return self._help_topics.get(id)

    def department(self, id: str) -> Department:
        """The department ``id``."""
        return self._departments.get(id)

    def agent(self, id: str) -> Agent:
        """The agent ``id`` (active or away)."""
        return self._agents.get(id)

    def sla_plan(self, id: str) -> SlaPlan:
        """The SLA plan ``id``."""
        return self._sla_plans.get(id)

    def category(self, id: str) -> Category:
        """The category ``id``."""
        return self._categories.get(id)

    def sla_plan_for_topic(self, help_topic_id: str) -> SlaPlan:
        """The help topic's SLA plan: its own if it names one, else its department's."""
        topic = self.help_topic(help_topic_id)
        return self.sla_plan(topic.sla_plan or self.department(topic.department).sla_plan)

    def active_members(self, department_id: str) -> tuple[Agent, ...]:
        """The department's members who are not away, in ``members`` order.

        These are the agents auto-assignment picks from.
        """
        members = self.department(department_id).members
        return tuple(a for a in map(self.agent, members) if a.status == "active")

    # --- agents by credential ------------------------------------------------------------

    def agent_by_token(self, token: str) -> Agent | None:
        """The agent whose API token is ``token``, or ``None``.

        Hashes ``token`` and compares it in constant time with every agent's
        ``token_sha256``. Away agents are found too: away only affects auto-assignment.
        """
        found = matching_hash(token, (agent.token_sha256 for agent in self.agents))
        return None if found is None else self.agents[found]

    def agent_by_email(self, email: str) -> Agent | None:
        """The agent with this e-mail address (case-insensitive), or ``None``."""
        wanted = email.strip().lower()
        return next((a for a in self.agents if a.email.lower() == wanted), None)

    # --- ids, in file order ----------------------------------------------------------------

    def help_topic_ids(self) -> tuple[str, ...]:
        """Help topic ids, in the order of the file (the order requesters see them)."""
        return self._help_topics.ids

    def department_ids(self) -> tuple[str, ...]:
        """Department ids, in file order."""
        return self._departments.ids

    def agent_ids(self) -> tuple[str, ...]:
        """Agent ids, in file order."""
        return self._agents.ids

    def sla_plan_ids(self) -> tuple[str, ...]:
        """SLA plan ids, in file order."""
        return self._sla_plans.ids

    def category_ids(self) -> tuple[str, ...]:
        """Category ids, in file order."""
        return self._categories.ids
