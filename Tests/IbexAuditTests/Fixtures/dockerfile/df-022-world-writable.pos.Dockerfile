# expect: IBX-DF-022@4 IBX-DF-022@5 IBX-DF-022@6
FROM alpine:3.20
WORKDIR /srv
RUN chmod 777 /srv
RUN chmod -R o+w /srv
COPY --chmod=666 config.yaml /srv/config.yaml
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
