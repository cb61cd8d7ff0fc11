# expect-not: IBX-DF-024 IBX-DF-028
FROM alpine:3.20
USER 10001
HEALTHCHECK --interval=30s --timeout=3s CMD ["/bin/true"]
CMD ["/bin/sh"]
