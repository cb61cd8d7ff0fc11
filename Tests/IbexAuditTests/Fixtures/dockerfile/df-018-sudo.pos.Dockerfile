# expect: IBX-DF-018@3 IBX-DF-018@4
FROM alpine:3.20
RUN apk add --no-cache sudo=1.9.15_p5-r0
RUN sudo -u nobody /bin/true
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
