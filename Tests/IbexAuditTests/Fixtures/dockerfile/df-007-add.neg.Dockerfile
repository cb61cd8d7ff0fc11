# expect-not: IBX-DF-007
FROM alpine:3.20
WORKDIR /srv
COPY app /srv/app
USER 10001
HEALTHCHECK NONE
CMD ["/srv/app"]
