# wagate: multi-stage build on Debian 12.
#   docker build -t wagate .
#   docker run -p 50051:50051 -p 8080:8080 -p 127.0.0.1:9464:9464 \
#     -e WAGATE_ACCESS_TOKEN=... wagate
# 8080 (webhooks) faces Meta and does not serve /metrics on 0.0.0.0; the admin
# listener (9464: /metrics, /healthz) listens on the container's interfaces so
# a scraper on its network reaches it: publish it only towards Prometheus.
FROM debian:12 AS build
WORKDIR /src
COPY scripts/setup scripts/setup
COPY package.json package-lock.json ./
RUN bash scripts/setup
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DWAGATE_BUILD_TESTS=OFF -DWAGATE_BUILD_BENCH=OFF \
 && cmake --build /build -j"$(nproc)" --target wagate wagate-emulator

FROM debian:12-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libcurl4 libsimdjson14 libsqlite3-0 libhiredis0.14 \
      libssl3 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/wagate --create-home --uid 10001 wagate
COPY --from=build /build/service/wagate /usr/local/bin/wagate
COPY --from=build /build/emulator/wagate-emulator /usr/local/bin/wagate-emulator
USER wagate
WORKDIR /var/lib/wagate
ENV WAGATE_GRPC_ADDRESS=0.0.0.0:50051 \
    WAGATE_HTTP_ADDRESS=0.0.0.0:8080 \
    WAGATE_ADMIN_ADDRESS=0.0.0.0:9464 \
    WAGATE_STORE=sqlite:/var/lib/wagate/data/wagate.db
EXPOSE 50051 8080 9464
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/wagate"]
