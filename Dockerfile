# Weir: a multi-stage build. The build stage compiles the release binary; the runtime stage is
# a slim Debian with only CA certificates and curl (for health checks), run as a non-root user.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY server server
COPY console console
COPY fake-provider fake-provider
COPY migrations migrations
COPY examples examples
RUN cargo build --release --locked -p weir-server --bin weir

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/weir --create-home weir
COPY --from=build /src/target/release/weir /usr/local/bin/weir
COPY examples/compose.toml /etc/weir/weir.toml
USER weir
WORKDIR /var/lib/weir
ENV WEIR_CONFIG=/etc/weir/weir.toml \
    WEIR_LISTEN=0.0.0.0:4000 \
    WEIR_ADMIN_LISTEN=0.0.0.0:4001
EXPOSE 4000 4001
ENTRYPOINT ["weir"]
CMD ["serve"]
