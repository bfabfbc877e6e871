# Wastenet service image: the library, the bundled Liaoning data and the HTTP service.
#
#   docker build -t wastenet .
#   docker run --rm -v wastenet:/var/lib/wastenet IMAGE wastenet keys create --role admin
#   docker run -d -p 8000:8000 -v wastenet:/var/lib/wastenet \
#       -e WASTENET_INSTANCE_ID=wastenet-1 IMAGE
#
# The volume keeps the SQLite database and the keys (set WASTENET_DATABASE_URL for
# PostgreSQL). A fixed WASTENET_INSTANCE_ID lets a recreated container take its
# interrupted runs back at once; the default, the container's host name, changes with
# every new container, so they would wait for their lease to run out (run_lease_s).
# Instances sharing one database need distinct ids.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    WASTENET_DATA_DIR=/var/lib/wastenet

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY wastenet ./wastenet
COPY api ./api
COPY scenarios ./scenarios
RUN pip install --no-cache-dir ".[postgres]" \
    && useradd --system --home /var/lib/wastenet wastenet \
    && mkdir -p /var/lib/wastenet && chown wastenet /var/lib/wastenet /app

USER wastenet
VOLUME /var/lib/wastenet
EXPOSE 8000
# A non-loopback listener needs an API key: create the first admin key as shown above.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["wastenet", "serve", "--host", "0.0.0.0", "--port", "8000"]
