# A user that depends on a build arg is unknown: not reported as root or as a name.
# expect-not: IBX-DF-001 IBX-DF-002
FROM alpine:3.20
ARG APP_UID
USER ${APP_UID}
HEALTHCHECK NONE
CMD ["/bin/sh"]
