# The TaskForce image: the two binaries, `taskforce` (serve, migrate) and
# `tenant-admin`, on Debian with libpq. Build and run: docs/deployment.md.
#
#   docker build -t taskforce .
#   docker compose up -d          # PostgreSQL, Redis, migrate, serve
#
# The base images are arguments so that a mirror or a pinned digest can be
# used without editing this file.
ARG RUST_IMAGE=rust:1-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# the migrations are compiled into the binaries
RUN cargo build --release --locked -p taskforce-cli --bins \
    && install -m 0755 target/release/taskforce target/release/tenant-admin /usr/local/bin/
# the release profile keeps line tables for backtraces (~200 MiB for both);
# the image keeps the symbols (function names in a backtrace) without them
RUN strip --strip-debug /usr/local/bin/taskforce /usr/local/bin/tenant-admin

FROM ${RUNTIME_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/taskforce --create-home taskforce
COPY --from=build /usr/local/bin/taskforce /usr/local/bin/tenant-admin /usr/local/bin/
COPY config /etc/taskforce
# production settings; the JWT secret and the database must come from the
# environment (TASKFORCE__AUTH__JWT_SECRET, TASKFORCE__DATABASE__URL): the
# server refuses to start without a secret, and there is no embedded
# PostgreSQL in the image; serve also needs a mailer that sends
# (TASKFORCE__MAIL__TRANSPORT=smtp or file)
ENV TASKFORCE_ENV=production \
    TASKFORCE_CONFIG_DIR=/etc/taskforce
USER taskforce
# attachments (.data/files) and file-transport mail live under the working
# directory: mount a volume here, or use S3 (storage.url)
WORKDIR /var/lib/taskforce
EXPOSE 8001
STOPSIGNAL SIGTERM
ENTRYPOINT ["taskforce"]
CMD ["serve"]
