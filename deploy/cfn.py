"""CloudFormation documents as Python values, written as YAML with comments and short-form
intrinsic functions, and read back (for tests) into the long form.

Build a template from dicts, lists and scalars; use `ref`, `sub`, `get_att`, `if_`, ... for
intrinsic functions and `Commented(value, "why")` to put a comment on a value's line (or above a
mapping or list entry). `dump(template, header)` writes it; `load(text)` parses it back, turning
`!Ref X` into `{"Ref": "X"}` and `!Sub s` into `{"Fn::Sub": s}`, as CloudFormation does.

The emitter is small and deterministic on purpose: the generated files are committed and a test
compares them byte for byte with the generator's output.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True)
class Tag:
    """A short-form intrinsic function: `!Name value`."""

    name: str
    value: Any


@dataclass(frozen=True)
class Commented:
    """`value` with a comment: trailing on a scalar's line, on its own line above anything else."""

    value: Any
    comment: str


def ref(name: str) -> Tag:
    return Tag("Ref", name)


def sub(text: str) -> Tag:
    return Tag("Sub", text)


def get_att(resource: str, attribute: str) -> Tag:
    return Tag("GetAtt", f"{resource}.{attribute}")


def if_(condition: str, then: Any, otherwise: Any) -> Tag:
    return Tag("If", [condition, then, otherwise])


def equals(a: Any, b: Any) -> Tag:
    return Tag("Equals", [a, b])


def not_(condition: Any) -> Tag:
    return Tag("Not", [condition])


NO_VALUE = ref("AWS::NoValue")

# Plain (unquoted) scalars: conservative, so that YAML never reads them as anything but a string.
_PLAIN = re.compile(r"^[A-Za-z_/$][A-Za-z0-9_.:/@$*{}-]*$")
MAX_FLOW_WIDTH = 110
_RESERVED = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, str):
        if _PLAIN.match(value) and value.lower() not in _RESERVED and not value.endswith(":"):
            return value
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as YAML")


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, bool))


def _is_inline(value: Any) -> bool:
    """Whether `value` fits on one line: a scalar, an empty collection, or a tag over those."""
    if isinstance(value, Tag):
        if isinstance(value.value, list):
            return all(_is_inline(item) and not isinstance(item, (dict, list)) for item in value.value)
        return _is_scalar(value.value) and "\n" not in str(value.value)
    if isinstance(value, (dict, list)):
        return not value
    return _is_scalar(value) and not (isinstance(value, str) and "\n" in value)


def _is_flow_list(value: Any, used: int) -> bool:
    """A short list of plain values, written `[a, b]` on the line of its key."""
    if not isinstance(value, list) or not all(_is_inline(item) and not isinstance(item, Tag) for item in value):
        return False
    return used + 4 + sum(len(_inline(item)) + 2 for item in value) <= MAX_FLOW_WIDTH


def _inline(value: Any, in_flow: bool = False) -> str:
    if isinstance(value, Tag):
        if isinstance(value.value, list):
            return f"!{value.name} [{', '.join(_inline(item, in_flow=True) for item in value.value)}]"
        return f"!{value.name} {_inline(value.value, in_flow)}"
    if in_flow and isinstance(value, str) and ("{" in value or "}" in value):
        return json.dumps(value, ensure_ascii=False)  # braces open a mapping inside [...]
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def _block_text(text: str, indent: int) -> list[str]:
    """A literal block scalar (`|`): the lines of `text`, indented."""
    pad = " " * indent
    return [(pad + line) if line else "" for line in text.rstrip("\n").split("\n")]


def _emit_value(value: Any, indent: int, lead: str, out: list[str]) -> None:
    """Writes `lead` (e.g. `Key:` or `-`) followed by `value` at `indent`."""
    pad = " " * indent
    comment = ""
    if isinstance(value, Commented):
        if _is_inline(value.value):
            comment = f"  # {value.comment}"
        else:
            out.append(f"{pad}# {value.comment}")
        value = value.value
    if _is_inline(value):
        out.append(f"{pad}{lead} {_inline(value)}{comment}")
    elif _is_flow_list(value, len(pad) + len(lead)):
        out.append(f"{pad}{lead} [{', '.join(_inline(item) for item in value)}]{comment}")
    elif isinstance(value, str):
        out.append(f"{pad}{lead} |{comment}")
        out.extend(_block_text(value, indent + 2))
    elif isinstance(value, Tag):
        if isinstance(value.value, str):  # a multi-line !Sub
            out.append(f"{pad}{lead} !{value.name} |")
            out.extend(_block_text(value.value, indent + 2))
        else:
            out.append(f"{pad}{lead} !{value.name}")
            items = value.value if isinstance(value.value, list) else [value.value]
            _emit_list(items, indent + 2, out)
    elif isinstance(value, dict):
        out.append(f"{pad}{lead}")
        _emit_dict(value, indent + 2, out)
    elif isinstance(value, list):
        out.append(f"{pad}{lead}")
        _emit_list(value, indent + 2, out)
    else:
        raise TypeError(f"cannot write {value!r}")


def _emit_dict(mapping: dict, indent: int, out: list[str]) -> None:
    for key, value in mapping.items():
        _emit_value(value, indent, f"{_scalar(key)}:", out)


def _emit_list(items: list, indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in items:
        comment = None
        if isinstance(item, Commented) and not _is_inline(item.value):
            comment, item = item.comment, item.value
            out.append(f"{pad}# {comment}")
        if isinstance(item, dict) and item:
            # The first key shares the dash's line; the others align under it.
            nested: list[str] = []
            _emit_dict(item, indent + 2, nested)
            out.append(f"{pad}- {nested[0][indent + 2:]}")
            out.extend(nested[1:])
        else:
            _emit_value(item, indent, "-", out)


def dump(document: dict, header: str) -> str:
    """The YAML text of `document`, after `header` (each line becomes a comment)."""
    out = [f"# {line}".rstrip() for line in header.strip("\n").split("\n")]
    for key, value in document.items():
        out.append("")
        if key == "Resources" and isinstance(value, dict):
            # Resources apart from each other, for the reader.
            out.append("Resources:")
            for index, (name, resource) in enumerate(value.items()):
                if index:
                    out.append("")
                _emit_value(resource, 2, f"{_scalar(name)}:", out)
        else:
            _emit_value(value, 0, f"{_scalar(key)}:", out)
    return "\n".join(out) + "\n"


# --- reading templates back (tests) -----------------------------------------------------------


class _Loader(yaml.SafeLoader):
    pass


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _construct_tag)


def load(text: str) -> dict:
    """A CloudFormation YAML template, with short-form intrinsics turned into the long form."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
