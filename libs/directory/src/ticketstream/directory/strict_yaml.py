"""A YAML reader without the traps of YAML 1.1 that bite configuration files.

PyYAML's safe loader follows YAML 1.1: ``17:00`` is the base-60 integer 1020, ``no``,
``off`` and ``y`` are booleans, ``010`` is octal 8, and a key given twice silently keeps
the last value. This reader resolves scalars as YAML 1.2's core schema does (only
``true``/``false`` are booleans, ``17:00`` stays a string; only plain decimal integers are
numbers, so ``010`` stays a string too) and rejects duplicate keys.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

__all__ = ["DuplicateKeyError", "StrictLoader", "read_yaml"]

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"


class DuplicateKeyError(ConstructorError):
    """A mapping gives the same key twice."""


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with YAML 1.2 core scalars and no duplicate keys."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Node] = {}
        for key_node, _value in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if first is not key_node:
                raise DuplicateKeyError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found the key {key!r} a second time "
                    f"(first at line {first.start_mark.line + 1})",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
StrictLoader.add_implicit_resolver(
    _INT, re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
StrictLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?[0-9]+[eE][-+]?[0-9]+"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def read_yaml(text: str) -> Any:
    """Parse one YAML document with :class:`StrictLoader`; raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=StrictLoader)  # a SafeLoader subclass: safe
