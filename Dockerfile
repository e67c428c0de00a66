# sanbao container image: a static binary on distroless, running as nonroot,
# keeping its database on the /data volume.
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t sanbao .
#   docker run --rm sanbao version                       # the VERSION stamped above
#   docker run --rm -v sanbao-data:/data sanbao keys create --role admin --name ops   # first admin key, server stopped
#   (or start serve on the empty volume: it prints a first admin key once, in docker logs)
#   docker run -d --name sanbao -p 8080:8080 -v sanbao-data:/data \
#     -e SANBAO_PUBLIC_URL=https://warranty.example.com sanbao
#
# Every serve flag can be set with its SANBAO_* variable (see "sanbao help").

FROM golang:1.26 AS build
# The build context has no .git (see .dockerignore), so Go cannot stamp VCS
# information itself: "sanbao version" prints this instead of (devel).
ARG VERSION=unversioned
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off: a static binary that runs on distroless/static (no libc).
# -trimpath: no build paths in the binary. Time zones are embedded
# (time/tzdata) and CA certificates come with the base image.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.buildVersion=${VERSION}" -o /out/sanbao ./cmd/sanbao \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sanbao /usr/local/bin/sanbao
# The volume's mount point must belong to nonroot (65532) so a fresh named
# volume is writable by the server.
COPY --from=build --chown=65532:65532 /out/data /data
ENV SANBAO_DB=/data/sanbao.db \
    SANBAO_ADDR=0.0.0.0:8080
VOLUME /data
EXPOSE 8080
USER 65532:65532
# distroless has no curl: the binary probes its own /healthz over loopback,
# reading the same SANBAO_ADDR (and SANBAO_TLS_CERT for https) as serve.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/sanbao", "healthcheck"]
# serve stops gracefully on SIGTERM: in-flight requests get up to
# --shutdown-timeout (30s) to finish, but docker stop kills after 10s unless
# given more: docker stop -t 40 sanbao (compose: stop_grace_period: 40s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/sanbao"]
CMD ["serve"]
