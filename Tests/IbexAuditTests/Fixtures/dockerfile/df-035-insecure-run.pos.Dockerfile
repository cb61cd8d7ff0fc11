# syntax=docker/dockerfile:1-labs
# expect: IBX-DF-035@4 IBX-DF-035@5
FROM alpine:3.20
RUN --security=insecure echo privileged
RUN --network=host wget -q -O /tmp/a http://127.0.0.1:8080/a
RUN --network=none echo offline
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
