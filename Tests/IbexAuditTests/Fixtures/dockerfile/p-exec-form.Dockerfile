FROM alpine:3.20
USER 10001
HEALTHCHECK NONE
# A trailing comma is not JSON: this runs in shell form.
CMD ["/bin/app", "--serve",]
RUN ["apk", "add", "curl"]
# expect: IBX-DF-027@5 IBX-DF-015@6
