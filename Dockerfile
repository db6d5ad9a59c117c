# selfserve's container image: one image, chosen by its first argument (deploy/entrypoint.sh):
#   web      gunicorn with gunicorn.conf.py on $PORT (default 8000)
#   worker   the task queue's consumer (owed codes, outbound texts, birthdays)
#   migrate  `flask --app app db upgrade`, then exit
#   anything else: a `flask --app app` command (e.g. `campaigns import demo/campaigns.toml`)
# Build: `make image` (or `docker build -t selfserve .`). docs/deploy.md has the details.

# Stage 1: Debian's Python 3.11 and a compiler; every dependency built as a wheel and
# installed into a virtual environment; the translations compiled. Nothing of it but the
# environment and the compiled catalogues reaches the final image.
FROM debian:bookworm-slim AS build
ENV DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-venv python3-dev gcc libc6-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/selfserve
WORKDIR /src
# The dependencies first (from pyproject.toml alone), so code changes reuse this layer.
COPY pyproject.toml ./
# No bytecode here (a third of the environment's size): the final stage bakes it only for the
# modules the app loads, under PYTHONPYCACHEPREFIX. pip itself, the libraries' own tests and
# the shared objects' symbol tables are not needed at run time either, nor Babel's locale
# data for languages the app does not speak (LANGUAGES: selfserve.ops.SUPPORTED_LANGUAGES;
# tests/test_container_files.py keeps the two lists equal). So the layers above the base
# stay under 250 MB.
ARG LANGUAGES="en\|fr\|es\|de\|it\|nl\|pt"
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && /opt/selfserve/bin/pip wheel --wheel-dir /wheels -r requirements.txt \
 && /opt/selfserve/bin/pip install --no-compile --no-index --find-links /wheels -r requirements.txt \
 && /opt/selfserve/bin/pip uninstall --yes --quiet pip \
 && find /opt/selfserve -name __pycache__ -type d -prune -exec rm -rf {} + \
 && find /opt/selfserve/lib -type d -name tests -prune -exec rm -rf {} + \
 && find /opt/selfserve/lib -name '*.so*' -type f -exec strip --strip-unneeded {} + \
 && find /opt/selfserve/lib/python3.11/site-packages/babel/locale-data -name '*.dat' \
      ! -name root.dat ! -regex ".*/\($LANGUAGES\)\(_[A-Za-z0-9_]*\)?\.dat" -delete
COPY selfserve/locale selfserve/locale
RUN /opt/selfserve/bin/pybabel compile --statistics -D selfserve -d selfserve/locale

# Stage 2: the runtime. Python 3.11 from Debian, the environment from stage 1, the code.
FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates fonts-dejavu-core \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && find /usr/lib/python3* -name __pycache__ -type d -prune -exec rm -rf {} + \
 && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin selfserve
COPY --from=build /opt/selfserve /opt/selfserve
WORKDIR /app
COPY --chown=root:root . /app
COPY --from=build /src/selfserve/locale /app/selfserve/locale
# instance/ holds the generated secrets (SECRET_KEY, IDENTITY_SECRET, the sandbox's Twilio
# token), the embedded queue and the SQLite database when DATABASE_URL is not set: the only
# place the app writes. Mount a volume there, shared by web and worker (compose.yaml does).
RUN mkdir -p /app/instance && chown selfserve:selfserve /app/instance \
 && chmod 0755 deploy/entrypoint.sh deploy/healthcheck.py
# Bytecode of just the modules web and worker load at start (30 MB, against 110 MB for all),
# made by loading the app once here with a throwaway instance folder (no secret stays):
# processes start in seconds instead of compiling them. Root-owned and read-only; a module
# not cached here is compiled in memory when it is first imported.
ENV PATH=/opt/selfserve/bin:$PATH \
    PYTHONPYCACHEPREFIX=/opt/selfserve-pycache
RUN INSTANCE_PATH=/tmp/warm-up DATABASE_URL=sqlite:////tmp/warm-up/selfserve.db \
      flask --app app db history >/dev/null \
 && python3 -c "import gunicorn.app.wsgiapp, gunicorn.workers.ggevent, gevent.monkey, huey.consumer" \
 && rm -rf /tmp/warm-up \
 && chmod -R a+rX,go-w /opt/selfserve-pycache
ENV PYTHONUNBUFFERED=1 \
    FLASK_APP=app \
    PORT=8000 \
    LOG_JSON=true \
    GUNICORN_GRACEFUL_TIMEOUT=8
USER selfserve
VOLUME ["/app/instance"]
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "/app/deploy/healthcheck.py"]
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["web"]
