"""The service's settings, read from GRADSERVE_* environment variables (README lists them)."""

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:  # imported when used: `python -m service` reads Settings without NumPy
    from schemas import DecodeLimits

CommaSeparated = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRADSERVE_")

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(1, ge=1)
    log_level: str = "info"
    # Each worker compiles or loads the Numba kernels before /v1/health/ready says 200.
    warm_up: bool = True

    # Limits, each checked before the work it bounds is done.
    max_body_bytes: int = Field(128 * 2**20, ge=1)
    max_nodes: int = Field(200_000, ge=1)
    max_tensor_elements: int = Field(64 * 2**20, ge=1)
    max_name_length: int = Field(1024, ge=1)
    max_eval_bytes: int = Field(2 * 2**30, ge=1)
    eval_timeout_seconds: float = Field(60.0, gt=0)
    max_concurrent_evaluations: int = Field(4, ge=1)
    # Bodies up to this size are computed on the event loop, not in a worker thread.
    inline_body_bytes: int = Field(16 * 2**10, ge=0)
    retry_after_seconds: int = Field(1, ge=0)
    # Prepared graphs (POST /v1/graphs) a worker keeps, the least recently used evicted.
    max_prepared_graphs: int = Field(64, ge=1)
    max_prepared_nodes: int = Field(1_000_000, ge=1)

    # Security: API keys required on /v1/* (except health) when any is set; CORS origins.
    api_keys: CommaSeparated = []
    cors_origins: CommaSeparated = []

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @property
    def decode_limits(self) -> "DecodeLimits":
        from schemas import DecodeLimits

        return DecodeLimits(max_nodes=self.max_nodes, max_tensor_elements=self.max_tensor_elements,
                            max_name_length=self.max_name_length)

