"""GET /v1/ops: the op registry as data."""

from typing import Any, Literal

from pydantic import BaseModel, Field

from core import registry
from core.dtypes import DTYPES
from schemas.graph import encode_attr


class AttrInfo(BaseModel):
    name: str
    kind: str = Field(description='"type", "shape", "int", "float", "bool", "string", '
                                  '"list(int)", "list(type)", "tensor", ...')
    required: bool
    default: Any = Field(None, description="The value when the attribute is left out.")


class OpInfo(BaseModel):
    name: str
    inputs: list[str] = Field(description='In order; a name ending in "*" takes one or '
                                          "more tensors.")
    attrs: list[AttrInfo]
    dtypes: list[str] = Field(description="The dtypes of the op's main type attribute.")
    gradient_status: Literal["differentiable", "not_differentiable", "no_gradient"] = Field(
        description="differentiable: a gradient rule; not_differentiable: no gradient flows "
                    "(None); no_gradient: differentiating through it is a LookupError.")
    doc: str


class OpsResponse(BaseModel):
    dtypes: list[str] = Field(description="Every dtype a tensor value may have.")
    ops: list[OpInfo]


def describe_ops(ops: list[registry.OpDef]) -> OpsResponse:
    return OpsResponse(dtypes=list(DTYPES), ops=[_describe(op) for op in ops])


def _describe(op: registry.OpDef) -> OpInfo:
    attrs = [AttrInfo(name=name, kind=attr.kind, required=attr.default is registry.REQUIRED,
                      default=None if attr.default is registry.REQUIRED
                      else encode_attr(attr.default, "data"))
             for name, attr in op.attrs.items()]
    return OpInfo(name=op.name, inputs=list(op.inputs), attrs=attrs,
                  dtypes=[name for name, dtype in DTYPES.items() if dtype in op.dtypes],
                  gradient_status=op.gradient_status, doc=op.doc)
