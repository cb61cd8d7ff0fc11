# ARG before FROM is visible only to FROM; re-declaring it in the stage brings the default in.
ARG RUN_AS=root
FROM alpine:3.20 AS first
USER $RUN_AS
FROM alpine:3.20 AS second
ARG RUN_AS
USER $RUN_AS
HEALTHCHECK NONE
CMD ["/bin/sh"]
# expect: IBX-DF-001@7
# expect: IBX-DF-002@7
