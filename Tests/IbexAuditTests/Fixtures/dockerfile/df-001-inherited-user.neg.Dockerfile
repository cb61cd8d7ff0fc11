# A stage built FROM another stage inherits its USER.
# expect-not: IBX-DF-001 IBX-DF-003
FROM alpine:3.20 AS base
USER 10001
FROM base
HEALTHCHECK NONE
CMD ["/bin/sh"]
