# The sticky bit (1777) makes a shared tmp directory safe.
# expect-not: IBX-DF-022
FROM alpine:3.20
RUN mkdir -p /srv/tmp && chmod 1777 /srv/tmp && chmod 755 /srv
COPY --chmod=644 config.yaml /srv/config.yaml
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
