# Wastenet service image: the library, the bundled Liaoning data and the HTTP service.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    WASTENET_DATA_DIR=/var/lib/wastenet

WORKDIR /app
COPY pyproject.toml README.md ./
COPY wastenet ./wastenet
COPY api ./api
COPY scenarios ./scenarios
RUN pip install --no-cache-dir ".[postgres]" \
    && useradd --system --home /var/lib/wastenet wastenet \
    && mkdir -p /var/lib/wastenet && chown wastenet /var/lib/wastenet

USER wastenet
EXPOSE 8000
# A non-loopback listener needs an API key: create the first admin key with
#   docker run --rm -v wastenet:/var/lib/wastenet IMAGE wastenet keys create --role admin
CMD ["wastenet", "serve", "--host", "0.0.0.0", "--port", "8000"]
