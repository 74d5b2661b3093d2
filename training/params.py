"""Command lines as dataclasses: each entry point declares its options once, as fields.

A field whose metadata is `cli(help)` is the option `--name-with-dashes`; its type comes from
the annotation (`X | None` takes an X, `bool` is a switch, `list[X]` takes one or more). `parse`
builds the parser from the fields, in their order, and returns the filled dataclass, so the
functions of a training run receive typed settings, never an argparse Namespace. A ValueError
raised by the dataclass (in `__post_init__`) is reported as a usage error.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def cli(help: str | None = None, *, positional: bool = False,
        **argparse_options: Any) -> dict[str, Any]:
    """The metadata that makes a dataclass field an option: `field(default=..., metadata=cli(
    "what it does"))`; a field without a default is a required option.

    `argparse_options` go to `add_argument` as they are (type, choices, metavar, ...).
    """
    return {"help": help, "positional": positional, "argparse": argparse_options}


def _value_type(annotation: Any) -> Any:
    """`X | None` -> X; anything else as it is."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(kinds) == 1:
            return kinds[0]
    return annotation


def parser_for(cls: type, **parser_options: Any) -> argparse.ArgumentParser:
    """An ArgumentParser with one argument per `option` field of the dataclass `cls`."""
    parser = argparse.ArgumentParser(**parser_options)
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if "argparse" not in field.metadata:
            continue
        kind = _value_type(hints[field.name])
        kwargs: dict[str, Any] = {"help": field.metadata["help"]}
        if kind is bool:
            kwargs["action"] = "store_true"
        elif typing.get_origin(kind) is list:
            kwargs.update(type=typing.get_args(kind)[0], nargs="+")
        else:
            kwargs["type"] = kind
        kwargs.update(field.metadata["argparse"])
        if field.metadata["positional"]:
            parser.add_argument(field.name, **kwargs)
            continue
        if field.default is dataclasses.MISSING:
            kwargs["required"] = True
        else:
            kwargs["default"] = field.default
        parser.add_argument("--" + field.name.replace("_", "-"), dest=field.name, **kwargs)
    return parser


def _prog() -> str | None:
    """"python -m training.x" when training.x runs as the main module (argparse would say
    "__main__.py")."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is None or not spec.name.startswith("training."):
        return None
    return "python -m " + spec.name.removesuffix(".__main__")


def parse(cls: type[T], argv: list[str] | None = None, **parser_options: Any) -> T:
    """The dataclass `cls` filled from the command line `argv` (default: sys.argv[1:])."""
    parser = parser_for(cls, **{"prog": _prog(), **parser_options})
    try:
        return cls(**vars(parser.parse_args(argv)))
    except ValueError as error:
        parser.error(str(error))
        raise  # parser.error exits; this keeps type checkers content


def require_modules(*names: str) -> None:
    """Stop with a usage message when a training-only module (torch, onnx2torch, …) is missing,
    before any work starts: the companion's own environment does not have them."""
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            sys.exit(f"{exc.name or name} is missing: run this with a training environment "
                     "(see --help).")
