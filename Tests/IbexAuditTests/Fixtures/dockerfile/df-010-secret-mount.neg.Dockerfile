# expect-not: IBX-DF-010
FROM alpine:3.20
RUN --mount=type=secret,id=token curl -fsSL -H "Authorization: Bearer $(cat /run/secrets/token)" -o /tmp/a https://example.com/a
RUN curl -fsSL -u "deploy:$DEPLOY_PASSWORD" -o /tmp/b https://example.com/b
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
