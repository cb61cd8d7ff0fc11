# expect-not: IBX-DF-017
FROM debian:12.7
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u7 \
 && rm -rf /var/lib/apt/lists/*
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
