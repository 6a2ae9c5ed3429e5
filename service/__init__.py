"""The HTTP service: a FastAPI app over core, speaking the wire of schemas/."""

__version__ = "0.1.0"
