# expect: IBX-DF-028@6 IBX-DF-028@8
FROM alpine:3.20
USER 10001
HEALTHCHECK NONE
CMD ["/bin/a"]
CMD ["/bin/b"]
ENTRYPOINT ["/bin/tini", "--"]
ENTRYPOINT ["/sbin/tini", "--"]
