# expect: IBX-DF-001@4
# expect: IBX-DF-002@4
FROM alpine:3.20
USER root
HEALTHCHECK NONE
CMD ["/bin/sh"]
