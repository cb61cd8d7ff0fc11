# expect-not: IBX-DF-030
FROM alpine:3.20
WORKDIR /srv
COPY app.sh ./
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
