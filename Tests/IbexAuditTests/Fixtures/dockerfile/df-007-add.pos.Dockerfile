# expect: IBX-DF-007@4 IBX-DF-007@5
FROM alpine:3.20
WORKDIR /srv
ADD app.tar.gz /srv/
ADD https://example.com/tool.tgz /tmp/tool.tgz
USER 10001
HEALTHCHECK NONE
CMD ["/srv/app"]
