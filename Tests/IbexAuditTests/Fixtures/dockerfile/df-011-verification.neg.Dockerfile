# expect-not: IBX-DF-011
FROM alpine:3.20
RUN curl -fsSL -o /tmp/a https://example.com/a
RUN wget -q -O /tmp/b https://example.com/b
ENV NODE_TLS_REJECT_UNAUTHORIZED=1
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
