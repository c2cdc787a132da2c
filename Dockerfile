# hub-push: a Docker container action. `main` runs it from this file (`image: Dockerfile` in
# action.yml, built by the runner on every job); a release runs the image built from it and
# pushed to ghcr.io (docs/releasing.md). The runner passes the caller's PATH and runs as root
# with the workspace as working directory: the entrypoint is an absolute path and nothing here
# depends on USER, WORKDIR or PATH.
#
# Every input is pinned. The base: python:3.12-slim by digest (the multi-platform index of
# python:3.12.7-slim, Debian bookworm, as Dependabot pinned it in RDFLib/rdflib
# docker/latest/Dockerfile, PR #2920, 2024-10-10). Refresh it with Dependabot or Renovate
# (docker ecosystem) or by hand (`docker buildx imagetools inspect python:3.12-slim`), then run
# `.venv/bin/python scripts/lock.py` and the tests. Only the offline container test overrides it
# (`--build-arg BASE_IMAGE=<a stand-in made locally>`). The Python packages: requirements/*.lock,
# every file hash-checked (`pip install --require-hashes`), made by scripts/lock.py.
ARG BASE_IMAGE=python:3.12-slim@sha256:af4e85f1cac90dd3771e47292ea7c8a9830abfabbe4faa5c53f158854c2e819d

# Stage 1: the action's own packages (src/hub_push and the rules it shares with the local Hub,
# nothing else: see .dockerignore), built with the locked build backend and installed under
# /install, which stage 2 copies as one layer. Neither the backend nor the sources reach stage 2.
FROM ${BASE_IMAGE} AS build
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
COPY requirements/build.lock /tmp/build.lock
RUN pip install --no-cache-dir --require-hashes --requirement /tmp/build.lock
COPY pyproject.toml README.md /tmp/hub-push/
COPY src /tmp/hub-push/src
RUN pip install --no-cache-dir --no-deps --no-build-isolation --prefix /install /tmp/hub-push

# Stage 2: the action's image.
FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# The runtime dependencies in one layer, cached until the lock changes. Their bytecode (about a
# fifth of the layer) stays: without it every run compiles them again, seconds more per start.
# The base's own pip stays too: it lives in the base's layers, so removing it would save nothing.
COPY requirements/action.lock /tmp/action.lock
RUN pip install --no-cache-dir --require-hashes --requirement /tmp/action.lock \
    && rm /tmp/action.lock

# The action's packages, their metadata and the `hub-push` script.
COPY --from=build /install /usr/local

ENTRYPOINT ["/usr/local/bin/python", "-m", "hub_push"]
