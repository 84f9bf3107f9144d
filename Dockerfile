# opsbot: a static binary on a minimal non-root image.
#
#   docker build -t opsbot --build-arg VERSION=$(git describe --always) .
#
# Two listeners: OPSBOT_HTTP_ADDR (:8080) is public: /wecom/callback, the
# webhooks, /healthz. OPSBOT_ADMIN_ADDR (:9090 here; 127.0.0.1:9090 outside
# a container) serves /metrics, the detailed /readyz and pprof: publish it
# only to the monitoring network, never to the callback proxy.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
# The whole context: .dockerignore keeps local configs, secrets and build
# outputs out of it. Nothing of this stage but the binary reaches the image.
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/opsbot . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/opsbot /app/opsbot
# data/ is only for the embedded SQLite of a single-instance trial; with
# PostgreSQL (and on Kubernetes, a read-only root filesystem) it stays empty.
COPY --chown=65532:65532 --from=build /out/data /app/data
# Reference copies of the example files, named one by one so a developer's
# real config.yaml or staff.yaml can never slip in. opsbot embeds them
# already; the real roster and rota are mounted at run time.
COPY configs/config.example.yaml configs/staff.example.yaml configs/oncall.example.yaml /app/configs/
# Numeric, so Kubernetes' runAsNonRoot can verify it (65532 is distroless' nonroot).
USER 65532:65532
ENV OPSBOT_HTTP_ADDR=:8080 OPSBOT_ADMIN_ADDR=:9090 OPSBOT_TZ=Asia/Shanghai
EXPOSE 8080 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/app/opsbot", "healthcheck"]
ENTRYPOINT ["/app/opsbot"]
CMD ["serve"]
