# expect-not: IBX-DF-019
FROM alpine:3.20
RUN addgroup -S app && adduser -S -D -G app app
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
