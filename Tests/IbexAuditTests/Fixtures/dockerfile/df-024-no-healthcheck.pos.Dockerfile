# expect: IBX-DF-024@2
FROM alpine:3.20
USER 10001
CMD ["/bin/sh"]
