# Pinned versions, a --virtual group deleted in the same RUN, and an unknown package list.
# expect-not: IBX-DF-015 IBX-DF-025
FROM alpine:3.20
ARG PKGS
RUN apk add --no-cache curl=8.9.1-r0 tzdata~2024
RUN apk add --no-cache --virtual .build-deps gcc musl-dev \
 && echo build \
 && apk del .build-deps
RUN apk add --no-cache $PKGS
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
