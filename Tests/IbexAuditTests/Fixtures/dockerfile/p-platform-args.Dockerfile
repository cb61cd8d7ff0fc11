# Flags are stripped before the image; platform args are defined but dynamic.
FROM --platform=$BUILDPLATFORM golang:1.23 AS build
RUN echo build
FROM build AS binaries-linux
FROM binaries-$TARGETOS AS final
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
# expect-not: IBX-DF-003 IBX-DF-004
