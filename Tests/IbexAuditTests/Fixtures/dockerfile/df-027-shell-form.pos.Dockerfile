# Single quotes are not JSON: Docker silently runs the line in shell form.
# expect: IBX-DF-027@5 IBX-DF-027@6
FROM alpine:3.20
USER 10001
ENTRYPOINT ['/bin/app', '--serve']
CMD /bin/app --serve
HEALTHCHECK NONE
