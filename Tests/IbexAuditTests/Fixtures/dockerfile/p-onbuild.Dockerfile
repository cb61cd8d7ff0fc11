FROM alpine:3.20
ONBUILD RUN curl -fsSL https://example.com/install.sh | sh
ONBUILD COPY . /srv
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
# expect: IBX-DF-012@2 IBX-DF-033@3
