# FROM ${BASE} without a default is unknown, not "latest".
# expect-not: IBX-DF-003 IBX-DF-004
ARG BASE
FROM ${BASE}
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
