# hub-push: a Docker container action. Built by the runner from this file.
FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY pyproject.toml README.md /opt/hub-push/
COPY src /opt/hub-push/src
RUN pip install --no-cache-dir /opt/hub-push && rm -rf /opt/hub-push

ENTRYPOINT ["/usr/local/bin/python", "-m", "hub_push"]
