"""Forms from the API's own pydantic bodies: one set of rules for the API and the console.

`fields(Model)` describes the inputs to draw; `parse(Model, form)` turns the posted strings back into
the body (lists from comma-separated text, a table of integers from "key:value" pairs, JSON for
other nested values) and returns the body or the errors by field, shown beside each input.
"""
from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError


@dataclass
class Field:
    name: str
    label: str
    kind: str  # text, password, number, checkbox, select, list, pairs, json, datetime
    required: bool
    choices: tuple[str, ...] = ()
    help: str = ""


def _base(annotation) -> tuple[Any, bool]:
    """The type under Optional[...] and Annotated[...] (StrictInt is Annotated[int, Strict()]), and
    whether it was optional."""
    optional = False
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        optional = True
        if len(rest) != 1:
            return annotation, optional
        annotation = rest[0]
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation, optional


def _item_type(annotation) -> Any:
    """The element type of list[X] (StrictInt elements are int)."""
    return _base(typing.get_args(annotation)[0])[0]


def _kind(annotation) -> tuple[str, tuple[str, ...]]:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "select", tuple(str(a) for a in typing.get_args(annotation))
    if origin is list and typing.get_args(annotation) and _item_type(annotation) in (str, int):
        return "list", ()
    if origin is dict and len(typing.get_args(annotation)) == 2 and _base(typing.get_args(annotation)[1])[0] is int:
        return "pairs", ()
    if origin in (list, dict) or annotation in (list, dict):
        return "json", ()
    name = getattr(annotation, "__name__", "")
    if annotation is bool or name == "StrictBool":
        return "checkbox", ()
    if annotation is int or name == "StrictInt":
        return "number", ()
    if name == "datetime":
        return "datetime", ()
    return "text", ()


def fields(model: type[BaseModel], labels: dict[str, str]) -> list[Field]:
    out = []
    for name, info in model.model_fields.items():
        annotation, optional = _base(info.annotation)
        kind, choices = _kind(annotation)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if "password" in name or extra.get("format") == "password":
            kind = "password"  # a secret: the input never shows a value
        out.append(Field(name, labels.get(name, name), kind, info.is_required(), choices, info.description or ""))
    return out


def parse(model: type[BaseModel], form, labels: dict[str, str]) -> tuple[BaseModel | None, dict[str, str]]:
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields(model, labels):
        raw = form.get(field.name, "")
        if field.kind == "checkbox":
            data[field.name] = field.name in form
            continue
        raw = raw.strip()
        if raw == "":
            continue
        try:
            if field.kind == "number":
                data[field.name] = int(raw)
            elif field.kind == "list":
                item = _item_type(_base(model.model_fields[field.name].annotation)[0])
                data[field.name] = [item(part.strip()) for part in raw.replace("\uff0c", ",").split(",") if part.strip()]
            elif field.kind == "pairs":
                data[field.name] = _pairs(raw)
            elif field.kind == "json":
                data[field.name] = json.loads(raw)
            else:
                data[field.name] = raw
        except ValueError:
            errors[field.name] = "格式不对" if field.kind != "number" else "须为整数"
    try:
        body = model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            where = str(error["loc"][0]) if error["loc"] else "__all__"
            if where not in errors:  # a required input left empty is "missing" too: say so beside it
                errors[where] = "必填" if error["type"] == "missing" else error["msg"].removeprefix("Value error, ")
        return None, errors
    return (None, errors) if errors else (body, {})


def _pairs(raw: str) -> dict[str, int]:
    """ "10:20, 20:50" (full-width punctuation too) as {"10": 20, "20": 50}; a malformed or repeated
    pair is a ValueError."""
    pairs: dict[str, int] = {}
    for part in raw.replace("\uff0c", ",").replace("\uff1a", ":").split(","):
        if part.strip():
            key, value = (piece.strip() for piece in part.split(":"))
            if key in pairs:
                raise ValueError(f"repeated key {key}")
            pairs[key] = int(value)
    return pairs


def initial(values: dict[str, Any], model: type[BaseModel]) -> dict[str, str]:
    """Current values as the strings the inputs show."""
    out = {}
    for name, info in model.model_fields.items():
        value = values.get(name)
        if value is None:
            out[name] = ""
        elif isinstance(value, bool):
            out[name] = "on" if value else ""
        elif isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
            out[name] = ", ".join(str(v) for v in value)
        elif isinstance(value, dict) and _kind(_base(info.annotation)[0])[0] == "pairs":
            out[name] = ", ".join(f"{key}:{points}" for key, points in value.items())
        elif isinstance(value, (list, dict)):
            out[name] = json.dumps(value, ensure_ascii=False)
        elif hasattr(value, "isoformat"):
            out[name] = value.isoformat()
        else:
            out[name] = str(value)
    return out
