# expect: IBX-DF-030@3 IBX-DF-030@5
FROM alpine:3.20 AS build
COPY app.sh app/
FROM alpine:3.20
WORKDIR srv
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
