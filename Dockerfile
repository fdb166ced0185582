# cambmock: the mock of camb.ai's task APIs, as a small static image.
#
#   docker build -t cambmock .
#   docker run --rm -p 8080:8080 cambmock
#   docker run --rm -p 8080:8080 -v "$PWD/my-scenarios:/scenarios:ro" \
#       -e CAMBMOCK_SCENARIOS=/scenarios cambmock
#
# The image listens on 0.0.0.0, so its admin API (/__admin/: tasks, clock,
# reset, dashboard) answers only with a token; set one to use it:
#
#   docker run --rm -p 8080:8080 -e CAMBMOCK_ADMIN_TOKEN="$(openssl rand -hex 16)" cambmock
#   curl -H "Authorization: Bearer $TOKEN" localhost:8080/__admin/tasks
#
# /__admin/health stays open (it holds nothing secret) for the health check.
# Any command works too: docker run --rm cambmock verify --help

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags="-s -w" -o /out/cambmock ./cmd/cambmock

# distroless/static: no shell, CA certificates for proxying to https
# upstreams, and a non-root user (65532).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cambmock /usr/local/bin/cambmock
USER 65532:65532
ENV CAMBMOCK_ADDR=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=2s --retries=3 \
    CMD ["/usr/local/bin/cambmock", "health"]
ENTRYPOINT ["/usr/local/bin/cambmock"]
CMD ["serve"]
