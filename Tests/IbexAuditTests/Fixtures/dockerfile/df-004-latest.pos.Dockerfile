# expect: IBX-DF-004@3
# expect-not: IBX-DF-003
FROM alpine:latest
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
