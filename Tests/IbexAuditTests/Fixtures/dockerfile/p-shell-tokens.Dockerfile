FROM debian:12.7
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN set -eux; \
    apt-get -qq update; \
    apt-get -qq install -y --no-install-recommends -- curl=7.88.1-10+deb12u7 ca-certificates; \
    rm -rf /var/lib/apt/lists/*; \
    echo "$(date) apk add curl" > /build-date
RUN bash -c 'pip install flask' && (cd /tmp && gem install rake -v 13.2.1)
RUN if [ -n "$X" ]; then sudo true; fi
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
# expect: IBX-DF-016@5 IBX-DF-016@8 IBX-DF-018@9
# expect-not: IBX-DF-015 IBX-DF-017
