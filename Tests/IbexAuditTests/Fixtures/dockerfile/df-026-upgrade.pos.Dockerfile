# expect: IBX-DF-026@3 IBX-DF-026@4
FROM debian:12.7
RUN apt-get update && apt-get dist-upgrade -y && rm -rf /var/lib/apt/lists/*
RUN apt install -y --no-install-recommends curl=7.88.1-10+deb12u7 && rm -rf /var/lib/apt/lists/*
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
