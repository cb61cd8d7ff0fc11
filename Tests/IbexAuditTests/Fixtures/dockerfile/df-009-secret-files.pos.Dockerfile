# expect: IBX-DF-009@4 IBX-DF-009@5 IBX-DF-009@6
FROM alpine:3.20
WORKDIR /srv
COPY .env /srv/.env
COPY id_rsa /root/.ssh/id_rsa
COPY certs/server.key /srv/tls/
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
