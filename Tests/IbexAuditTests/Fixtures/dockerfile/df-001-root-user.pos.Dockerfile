# expect: IBX-DF-001@4
# expect-not: IBX-DF-002
FROM alpine:3.20
USER root
HEALTHCHECK NONE
CMD ["/bin/sh"]
