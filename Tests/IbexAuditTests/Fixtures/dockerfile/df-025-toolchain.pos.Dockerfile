# expect: IBX-DF-025@3
FROM alpine:3.20
RUN apk add --no-cache build-base=0.5-r3 git=2.45.2-r0
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
