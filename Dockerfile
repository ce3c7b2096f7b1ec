# The hub as a container: `docker build -t interlace .`, then one image for every role:
#   docker run -v $PWD/hub.yaml:/etc/interlace/hub.yaml -p 8080:8080 interlace            (all in one)
#   docker run ... interlace serve /etc/interlace/hub.yaml --host 0.0.0.0                   (ingress, API)
#   docker run ... interlace worker /etc/interlace/hub.yaml                                  (steps, deliveries)
# See docs/deploy.md. The build stage makes the wheels; the runtime stage installs them offline.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/interlace --create-home interlace
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels interlace && rm -rf /wheels
USER 10001
WORKDIR /var/lib/interlace
ENV PYTHONUNBUFFERED=1
EXPOSE 8080
ENTRYPOINT ["interlace"]
CMD ["run", "/etc/interlace/hub.yaml", "--host", "0.0.0.0"]
