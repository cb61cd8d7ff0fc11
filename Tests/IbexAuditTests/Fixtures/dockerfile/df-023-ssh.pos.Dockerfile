# expect: IBX-DF-023@3 IBX-DF-023@4
FROM alpine:3.20
RUN apk add --no-cache openssh-server=9.7_p1-r4
EXPOSE 22
USER 10001
HEALTHCHECK NONE
CMD ["/usr/sbin/sshd", "-D"]
