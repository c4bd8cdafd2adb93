# laurel: `laurel serve` (Slack, Teams, SCIM, /healthz, /metrics on port 3000) by default;
# `laurel scheduler` and `laurel db upgrade` from the same image (compose.yaml,
# docs/operations.md "Deploying with Docker Compose").
#
#   docker build -t laurel .
#   docker run --rm --env-file .env -p 3000:3000 laurel

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: laurel and every dependency as wheels, installed into a virtualenv ----------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Every dependency ships binary wheels for CPython 3.11 on glibc (amd64 and arm64), so no
# compiler is needed. On a platform without them, add here (never in the final stage):
#   RUN apt-get update && apt-get install -y --no-install-recommends build-essential
COPY pyproject.toml README.md ./
COPY core ./core
COPY adapters ./adapters
COPY bot ./bot
COPY migrations ./migrations
RUN pip wheel --wheel-dir /wheels . \
 && python -m venv /opt/laurel \
 && /opt/laurel/bin/pip install --no-index --find-links /wheels laurel \
 && /opt/laurel/bin/laurel --version

# ---- the image: the same slim Python, the virtualenv, a user without privileges ---------
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="laurel" \
      org.opencontainers.image.description="Self-hosted employee recognition for Slack and Microsoft Teams"
ENV PATH=/opt/laurel/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LAUREL_LOG_FORMAT=json \
    HOST=0.0.0.0 \
    PORT=3000 \
    MPLCONFIGDIR=/tmp/matplotlib
RUN groupadd --system --gid 10001 laurel \
 && useradd --system --uid 10001 --gid laurel --home-dir /data --no-create-home \
            --shell /usr/sbin/nologin laurel \
 && mkdir -p /data \
 && chown laurel:laurel /data
COPY --from=build /opt/laurel /opt/laurel
# The working directory is the laurel user's own, for a SQLite trial
# (DATABASE_URL=sqlite+aiosqlite:////data/laurel.db with a volume on /data); with
# PostgreSQL nothing is written to disk. laurel reads no .env inside the image: settings
# come from the environment (docker run --env-file, compose's env_file).
WORKDIR /data
USER laurel:laurel
EXPOSE 3000
# Standard library only, so nothing (curl, wget) is installed for it. PORT is the one
# laurel listens on; `laurel scheduler` containers get their own check (compose.yaml).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]
ENTRYPOINT ["laurel"]
CMD ["serve", "--no-scheduler"]
