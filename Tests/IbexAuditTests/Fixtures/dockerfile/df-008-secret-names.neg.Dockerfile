# A *_FILE variable points at a mounted secret; an ENV copied from elsewhere has no literal.
# expect-not: IBX-DF-008
FROM alpine:3.20
ENV DB_PASSWORD_FILE=/run/secrets/db_password
ENV APP_TOKEN=${APP_TOKEN}
ENV LOG_LEVEL=info
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
