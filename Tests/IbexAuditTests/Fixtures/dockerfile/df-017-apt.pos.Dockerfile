# expect: IBX-DF-017@3
FROM debian:12.7
RUN apt-get update && apt-get install -y curl=7.88.1-10+deb12u7
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
