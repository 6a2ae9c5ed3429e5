"""Error bodies: RFC 9457 problem details, plus the Python exception tf.gradients raises."""

from pydantic import BaseModel, Field


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    exception: str | None = Field(None, description="The Python exception `tf.gradients` "
                                                    "raises here: ValueError, LookupError, "
                                                    "TypeError.")
    node: str | None = Field(None, description="The node the error is about, when known.")
    request_id: str | None = Field(None, description="As in the X-Request-ID header.")
