# podio-mirror image: build with the official Swift image, run on slim Debian with libpq5.
#   docker build -t podio-mirror .
#   docker run --rm --env-file podio-mirror.env podio-mirror sync

FROM swift:6.3-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev pkg-config python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so source edits do not re-resolve them: the versions pinned in Package.swift,
# checked against dependencies.lock.json (a drift fails the build).
COPY Package.swift dependencies.lock.json ./
COPY scripts/check-versions.py scripts/
RUN swift package resolve && python3 scripts/check-versions.py
COPY . .
RUN swift build -c release --product podio-mirror --static-swift-stdlib \
 && cp "$(swift build -c release --show-bin-path)/podio-mirror" /usr/local/bin/podio-mirror

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates tzdata curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home mirror
COPY --from=build /usr/local/bin/podio-mirror /usr/local/bin/podio-mirror
USER mirror
# `run --listen 0.0.0.0:9464`: /healthz (curl is there for the healthcheck) and /metrics.
EXPOSE 9464
ENTRYPOINT ["podio-mirror"]
CMD ["run", "--every", "15m"]
