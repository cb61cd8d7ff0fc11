# expect-not: IBX-DF-029
FROM alpine:3.20
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
RUN wget -qO- https://example.com/a.tgz | tar -xz -C /srv
SHELL ["/bin/sh", "-c"]
RUN set -o pipefail && wget -qO- https://example.com/b.tgz | tar -xz -C /srv
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
