"""`python -m service [--host H] [--port P] [--workers N]`: serves the API with uvicorn.

Defaults come from Settings (GRADSERVE_HOST, GRADSERVE_PORT, GRADSERVE_WORKERS); each
worker builds its app with `service.app:create_app`.
"""

import argparse

import uvicorn

from service.settings import Settings


def main(argv: list[str] | None = None) -> None:
    settings = Settings()
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument("--workers", type=int, default=settings.workers)
    args = parser.parse_args(argv)
    uvicorn.run("service.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=settings.log_level)


if __name__ == "__main__":
    main()
