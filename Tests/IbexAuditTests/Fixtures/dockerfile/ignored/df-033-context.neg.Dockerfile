# <name>.dockerignore sits next to this file.
# expect-not: IBX-DF-033
FROM alpine:3.20
WORKDIR /srv
COPY . /srv
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
