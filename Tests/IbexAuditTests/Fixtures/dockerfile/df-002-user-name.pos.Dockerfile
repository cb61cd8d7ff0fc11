# expect: IBX-DF-002@4
# expect-not: IBX-DF-001
FROM alpine:3.20
USER app
HEALTHCHECK NONE
CMD ["/bin/sh"]
