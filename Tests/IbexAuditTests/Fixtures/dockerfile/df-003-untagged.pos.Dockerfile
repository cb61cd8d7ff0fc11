# expect: IBX-DF-003@3 IBX-DF-005@3
# expect-not: IBX-DF-004
FROM alpine
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
