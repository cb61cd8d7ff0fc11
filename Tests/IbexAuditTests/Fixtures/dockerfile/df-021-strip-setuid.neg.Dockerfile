# expect-not: IBX-DF-020 IBX-DF-021
FROM alpine:3.20
RUN chmod 0755 /usr/local/bin/tool
RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
