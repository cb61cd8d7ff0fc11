# expect: IBX-DF-013@3
FROM alpine:3.20
RUN apk update
RUN apk add --no-cache curl=8.9.1-r0
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
