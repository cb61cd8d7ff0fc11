FROM alpine:3.20
# Trailing blanks after the backslash are tolerated (as BuildKit does), comment and empty
# lines inside a continued instruction are dropped without ending it.
RUN apk add --no-cache \   
    # the downloader
    wget=1.24.5-r0 \

 && wget -qO- https://example.com/install.sh \
    | sh
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
# expect: IBX-DF-012@9 IBX-DF-029@9
# expect-not: IBX-DF-015
