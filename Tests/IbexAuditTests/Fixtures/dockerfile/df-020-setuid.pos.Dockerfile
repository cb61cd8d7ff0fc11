# expect: IBX-DF-020@3 IBX-DF-020@4
FROM alpine:3.20
RUN chmod u+s /usr/local/bin/tool
RUN chmod 4755 /usr/local/bin/other
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
