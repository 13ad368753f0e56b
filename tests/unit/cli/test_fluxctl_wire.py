"""fluxctl.wire reads what fluxd's models write, field for field.

fluxd answers with the pydantic models of ``fluxd.api.models``; fluxctl
decodes with the msgspec Structs of ``fluxctl.wire``, which repeat them so
that fluxctl need not import pydantic. Nothing but these tests ties the two:
each Struct must have its model's fields (JSON names, order, defaults), an
answer the model writes must decode to the values the model reads from it,
and ``-o json`` must dump what the model dumped.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any, Literal

import msgspec
import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from fluxctl import wire
from fluxctl.client import _json_bytes
from fluxctl.errors import CliError
from fluxd.api import models
from unit.cli.fake_daemon import FakeDaemon
from unit.cli.harness import Fluxctl

STRUCTS = sorted(
    (
        value
        for value in vars(wire).values()
        if isinstance(value, type)
        and issubclass(value, wire.Wire)
        and value not in (wire.Wire, wire.OmitEmpty)
    ),
    key=lambda cls: cls.__name__,
)
#: The answers fluxctl prints with -o json (and what they contain).
DUMPED = {
    "ControllerStatus", "ImageStatus", "Container", "ImageInfo", "Rollout", "StatusReport",
    "PassReport", "CommitReport", "Failure", "GcHold", "DiffResult", "ObjectDiff",
}  # fmt: skip


def model_of(struct: type[wire.Wire]) -> type[BaseModel]:
    model: type[BaseModel] = getattr(models, struct.__name__)
    assert issubclass(model, BaseModel), struct.__name__
    return model


def json_names(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(info.alias or name for name, info in model.model_fields.items())


def dumped(value: Any) -> Any:
    """A default as it travels: models and Structs as their JSON data."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return wire.to_plain(value)


def struct_default(field: msgspec.structs.FieldInfo) -> Any:
    if field.default_factory is not msgspec.NODEFAULT:
        return field.default_factory()
    return field.default


def type_shape(annotation: Any) -> Any:
    """A type, comparable across the two: a model or Struct stands for its name."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return ("Literal", frozenset(args))
    if origin in (types.UnionType, typing.Union):
        return ("Union", frozenset(type_shape(arg) for arg in args))
    if origin is not None:
        return (origin, tuple(type_shape(arg) for arg in args))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel | wire.Wire):
        return annotation.__name__
    return annotation


# --- generated answers -------------------------------------------------------------------


def sample(annotation: Any, field: str, default: Any = None) -> Any:
    """A value of ``annotation`` that is neither empty nor the field's default."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return next(arg for arg in args if arg != default)
    if origin in (types.UnionType, typing.Union):
        return sample(next(arg for arg in args if arg is not type(None)), field)
    if origin is list:
        return [sample(args[0], field)]
    if origin is dict:
        return {f"{field}-key": sample(args[1], field)}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return full_data(annotation)
    simple: dict[Any, Any] = {str: f"{field} ü", bool: True, int: 7, float: 2.5}
    return simple.get(annotation, {"nested": [1, "two", None]})  # Any


def full_data(model: type[BaseModel]) -> dict[str, Any]:
    """Every field of ``model`` set."""
    return {
        name: sample(info.annotation, name, info.default)
        for name, info in model.model_fields.items()
    }


def empty(annotation: Any) -> Any:
    """The empty value of ``annotation`` (not null): what Go's ``omitempty`` leaves out."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return args[0]
    if origin in (types.UnionType, typing.Union):
        return empty(next(arg for arg in args if arg is not type(None)))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return empty_data(annotation)
    return {str: "", bool: False, int: 0, float: 0.0, list: [], dict: {}}.get(origin or annotation)


def empty_data(model: type[BaseModel]) -> dict[str, Any]:
    """Every field of ``model`` set to its type's empty value."""
    return {name: empty(info.annotation) for name, info in model.model_fields.items()}


def required_data(model: type[BaseModel]) -> dict[str, Any]:
    """Only the fields ``model`` requires; the rest keep their defaults."""
    return {
        name: sample(info.annotation, name)
        for name, info in model.model_fields.items()
        if info.is_required()
    }


def assert_same(decoded: Any, expected: Any, where: str) -> None:
    """``decoded`` (fluxctl.wire) holds the values ``expected`` (the pydantic model) holds."""
    if isinstance(expected, BaseModel):
        assert isinstance(decoded, wire.Wire), where
        for name in type(expected).model_fields:
            assert_same(getattr(decoded, name), getattr(expected, name), f"{where}.{name}")
    elif isinstance(expected, list):
        assert isinstance(decoded, list) and len(decoded) == len(expected), where
        for index, (got, want) in enumerate(zip(decoded, expected, strict=True)):
            assert_same(got, want, f"{where}[{index}]")
    elif isinstance(expected, dict):
        assert isinstance(decoded, dict) and decoded.keys() == expected.keys(), where
        for key in expected:
            assert_same(decoded[key], expected[key], f"{where}.{key}")
    else:
        assert type(decoded) is type(expected) and decoded == expected, where


def answer(model: type[BaseModel], data: dict[str, Any]) -> tuple[bytes, BaseModel]:
    """What fluxd sends for ``data`` and what the model reads back from it."""
    sent = model.model_validate(data).model_dump_json().encode()
    return sent, model.model_validate_json(sent)


# --- the two contracts are one ----------------------------------------------------------------


@pytest.mark.parametrize("struct", STRUCTS, ids=lambda cls: cls.__name__)
def test_each_struct_has_its_models_fields_in_order(struct: type[wire.Wire]) -> None:
    assert struct.__struct_encode_fields__ == json_names(model_of(struct))


@pytest.mark.parametrize("struct", STRUCTS, ids=lambda cls: cls.__name__)
def test_each_field_has_its_models_type(struct: type[wire.Wire]) -> None:
    model = model_of(struct)
    hints = typing.get_type_hints(struct)
    for name in struct.__struct_fields__:
        expected = type_shape(model.model_fields[name].annotation)
        if (struct, name) == (wire.Container, "LatestFiltered"):
            # The model's validator reads a bare "repo:tag" here; the Struct takes a str.
            expected = ("Union", expected[1] | {str})
        assert type_shape(hints[name]) == expected, name


@pytest.mark.parametrize("struct", STRUCTS, ids=lambda cls: cls.__name__)
def test_each_field_is_required_or_defaults_as_in_the_model(struct: type[wire.Wire]) -> None:
    model = model_of(struct)
    for field in msgspec.structs.fields(struct):
        info: FieldInfo = model.model_fields[field.name]
        assert field.required == info.is_required(), field.name
        if not field.required:
            expected = dumped(info.get_default(call_default_factory=True))
            assert dumped(struct_default(field)) == expected, field.name


@pytest.mark.parametrize("struct", STRUCTS, ids=lambda cls: cls.__name__)
def test_a_struct_omits_empty_fields_when_its_model_does(struct: type[wire.Wire]) -> None:
    model = model_of(struct)
    omits = issubclass(model, models.OmitEmptyModel)
    assert issubclass(struct, wire.OmitEmpty) == omits
    if omits:
        assert struct.always_present == model.always_present  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "build", [full_data, empty_data, required_data], ids=["every field", "empty", "defaults"]
)
@pytest.mark.parametrize("struct", STRUCTS, ids=lambda cls: cls.__name__)
def test_an_answer_the_model_writes_decodes_to_the_same_values(struct, build) -> None:
    model = model_of(struct)
    sent, expected = answer(model, build(model))

    assert_decodes_alike(struct, sent, expected)


@pytest.mark.parametrize("struct", STRUCTS, ids=lambda cls: cls.__name__)
def test_an_answer_with_empty_values_spelt_out_is_read_and_dumped_alike(struct) -> None:
    # Neither fluxd nor Flux v1 writes them (omitempty), but a zero or "" sent
    # anyway must be left out of -o json as the model leaves it out.
    model = model_of(struct)
    sent = json.dumps(empty_data(model)).encode()

    assert_decodes_alike(struct, sent, model.model_validate_json(sent))


def assert_decodes_alike(struct: type[wire.Wire], sent: bytes, expected: BaseModel) -> None:
    decoded = wire.Shape[wire.Wire](struct).decode(sent, "/route")

    assert_same(decoded, expected, struct.__name__)
    if struct.__name__ in DUMPED:
        assert decoded.dump() == expected.model_dump(mode="json")


@pytest.mark.parametrize("latest", ["nginx:1.25", ""])
def test_a_bare_image_reference_as_latest_filtered_is_read_as_the_model_reads_it(
    latest: str,
) -> None:
    sent = json.dumps({"Name": "web", "LatestFiltered": latest}).encode()

    decoded = wire.Shape[wire.Container](wire.Container).decode(sent, "/v10/images")

    expected = models.Container.model_validate_json(sent)
    assert_same(decoded, expected, "Container")
    assert decoded.dump() == expected.model_dump(mode="json")


@pytest.mark.parametrize(
    ("body", "model"),
    [
        (wire.UpdateSpec(type="sync", cause=wire.Cause(), spec={}),
         models.UpdateSpec(type="sync", cause=models.Cause(), spec={})),
        (wire.UpdateSpec(type="policy", cause=wire.Cause(Message="ü", User="Ann <a@b>"),
                         spec={"default:deployment/web": {"add": {"automated": "true"}}}),
         models.UpdateSpec(type="policy", cause=models.Cause(Message="ü", User="Ann <a@b>"),
                           spec={"default:deployment/web": {"add": {"automated": "true"}}})),
        (wire.DiffRequest(), models.DiffRequest()),
        (wire.DiffRequest(ref="abc", files={"a.yaml": "kind: x\n"}),
         models.DiffRequest(ref="abc", files={"a.yaml": "kind: x\n"})),
    ],
)  # fmt: skip
def test_a_request_body_is_the_bytes_the_model_sent(body: wire.Wire, model: BaseModel) -> None:
    assert _json_bytes(wire.to_plain(body)) == _json_bytes(model.model_dump(mode="json"))


# --- a malformed answer -----------------------------------------------------------------------


def test_a_wrong_type_deep_in_an_answer_names_the_route_and_the_field(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    bad = {"ID": "default:deployment/web", "Containers": [{"Name": "web", "Current": {"ID": 5}}]}
    daemon.script("GET /v6/services", [bad])

    result = at_daemon("list-workloads", "-a")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: unexpected answer from fluxd for /v6/services: ")
    assert "Expected `str`, got `int` - at `$[0].Containers[0].Current.ID`" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_job_status_fluxctl_does_not_know_is_refused_by_name(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    daemon.script("GET /v6/jobs", {"Result": {}, "Err": "", "StatusString": "paused"})

    result = at_daemon("sync")

    assert result.exit_code == 1
    assert "unexpected answer from fluxd for /v6/jobs" in result.stderr
    assert "Invalid enum value 'paused' - at `$.StatusString`" in result.stderr


def test_an_answer_that_is_not_json_is_reported_with_what_came() -> None:
    shape = wire.Shape[list[wire.ControllerStatus] | None](list[wire.ControllerStatus] | None)

    with pytest.raises(CliError) as caught:
        shape.decode(b'[{"ID": "x"', "/v6/services")

    message = caught.value.message
    assert message.startswith('unexpected answer from fluxd for /v6/services: \'[{"ID": "x"\'')
    assert "truncated" in message
