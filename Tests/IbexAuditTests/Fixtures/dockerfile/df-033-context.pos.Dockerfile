# No .dockerignore next to this file.
# expect: IBX-DF-033@5
FROM alpine:3.20
WORKDIR /srv
COPY . /srv
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
