# expect-not: IBX-DF-009
FROM alpine:3.20
WORKDIR /srv
COPY .env.example /srv/.env.example
COPY id_rsa.pub /srv/keys/
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
