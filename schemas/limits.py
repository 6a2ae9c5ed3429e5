"""The limits a request is decoded within, and the error naming the one it exceeds."""

from dataclasses import dataclass

from core import ResourceLimitError


@dataclass(frozen=True)
class DecodeLimits:
    max_nodes: int
    max_tensor_elements: int
    max_name_length: int  # node, op, attribute names, references, attribute strings

    def check_length(self, text: str, what: str, node: str | None = None) -> None:
        if len(text) > self.max_name_length:
            raise LimitExceeded("max_name_length", f"{what} is {len(text)} characters long, "
                                f"over the limit of {self.max_name_length}", node)


class LimitExceeded(ResourceLimitError):
    """Over the configured limit `limit`: a field of the service's Settings, set by the
    environment variable GRADSERVE_<LIMIT>, which the message names."""

    def __init__(self, limit: str, message: str, node: str | None = None):
        super().__init__(f"{message} (GRADSERVE_{limit.upper()})", node)
        self.limit = limit
