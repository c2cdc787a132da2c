# hub-push: a Docker container action, built by the runner from this file (runs.image in action.yml).
# The runner passes the caller's PATH and runs as root with the workspace as working directory:
# the entrypoint is an absolute path and nothing here depends on USER, WORKDIR or PATH.

# Stage 1: the runtime dependencies of pyproject.toml as a requirements file (no extras: the
# local Hub's `localhub` extra and the `dev` tools stay out of the image).
FROM python:3.12-slim AS requirements
COPY pyproject.toml /tmp/pyproject.toml
RUN python -c "import tomllib; deps = tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']; print(*deps, sep='\n')" \
    > /tmp/requirements.txt

# Stage 2: the action's image.
FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# The dependencies in one layer, cached until the dependency list itself changes.
COPY --from=requirements /tmp/requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir --requirement /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The action's package itself (the local Hub and the tests stay out); its dependencies are
# already there.
COPY pyproject.toml README.md /tmp/hub-push/
COPY src/hub_push /tmp/hub-push/src/hub_push
RUN pip install --no-cache-dir --no-deps /tmp/hub-push \
    && rm -rf /tmp/hub-push

ENTRYPOINT ["/usr/local/bin/python", "-m", "hub_push"]
