# expect-not: IBX-DF-014
FROM alpine:3.20
RUN apk add --no-cache curl=8.9.1-r0
RUN apk add jq=1.7.1-r0 && rm -rf /var/cache/apk/*
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
