# ARG defaults are resolved in FROM: this is alpine without a tag.
# expect: IBX-DF-003@4
ARG BASE=alpine
FROM ${BASE}
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
