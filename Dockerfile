FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY schemas schemas
COPY service service
RUN python -m pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 gradserve

USER gradserve
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/v1/health/ready', timeout=4)"
CMD ["python", "-m", "service", "--host", "0.0.0.0"]
