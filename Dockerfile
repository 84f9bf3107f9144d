# opsbot: a static binary on a minimal non-root image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/opsbot . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/opsbot /app/opsbot
COPY --chown=nonroot:nonroot --from=build /out/data /app/data
COPY configs/*.yaml /app/configs/
USER nonroot:nonroot
ENV OPSBOT_HTTP_ADDR=:8080 OPSBOT_TZ=Asia/Shanghai
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/app/opsbot", "healthcheck"]
ENTRYPOINT ["/app/opsbot"]
CMD ["serve"]
