# syntax=docker/dockerfile:1
# A comment ends the directive block: the escape line below is an ordinary comment,
# so the backslash still continues lines.
# escape=`
FROM alpine:3.20
RUN apk add --no-cache \
    curl
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
# expect: IBX-DF-015@6
