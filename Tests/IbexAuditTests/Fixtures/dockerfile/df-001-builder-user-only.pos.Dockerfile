# USER in a builder stage does not make the final image non-root.
# expect: IBX-DF-001@6
FROM alpine:3.20 AS build
USER 10001
RUN echo building
FROM alpine:3.20
COPY --from=build /etc/hostname /srv/hostname
HEALTHCHECK NONE
CMD ["/bin/cat", "/srv/hostname"]
