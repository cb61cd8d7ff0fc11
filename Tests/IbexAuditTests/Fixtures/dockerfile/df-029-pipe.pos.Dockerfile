# expect: IBX-DF-029@4
FROM alpine:3.20
RUN mkdir -p /srv \
 && wget -qO- https://example.com/a.tgz | tar -xz -C /srv
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
