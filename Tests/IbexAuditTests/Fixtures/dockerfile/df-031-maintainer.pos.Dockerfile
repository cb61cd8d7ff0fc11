# expect: IBX-DF-031@3
FROM alpine:3.20
MAINTAINER someone@example.com
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
