# expect: IBX-DF-019@3 IBX-DF-019@4 IBX-DF-019@5
FROM alpine:3.20
RUN echo 'app:hunter2' | chpasswd
RUN passwd -d root
RUN adduser app
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
