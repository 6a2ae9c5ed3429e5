# gradserve: `docker build -t gradserve .`, `docker run -p 8000:8000 gradserve`.
# Stage 1 builds wheels for the service and every dependency; stage 2 installs only those
# wheels on a slim image, warms Numba's cache and runs as an unprivileged user.

FROM python:3.11-slim AS builder
WORKDIR /src
COPY pyproject.toml README.md ./
COPY core core
COPY schemas schemas
COPY service service
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NUMBA_CACHE_DIR=/var/cache/gradserve/numba \
    GRADSERVE_HOST=0.0.0.0 \
    GRADSERVE_PORT=8000
RUN useradd --create-home --uid 10001 gradserve \
    && mkdir -p "$NUMBA_CACHE_DIR" && chown gradserve "$NUMBA_CACHE_DIR"
COPY --from=builder /wheels /wheels
RUN python -m pip install --no-cache-dir --no-index --find-links /wheels gradserve-service \
    && rm -rf /wheels
USER gradserve
# Compiles the Numba kernels into NUMBA_CACHE_DIR now, not on the first requests.
RUN python -m service.warmup
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/v1/health/ready', timeout=4)"]
CMD ["python", "-m", "service"]
