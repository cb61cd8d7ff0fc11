# expect-not: IBX-DF-012
FROM alpine:3.20
RUN curl -fsSL -o /tmp/install.sh https://example.com/install.sh \
 && echo "0a4eaa0eecf5f8c050e5bba433f58c052be7587ee8af3e8b3910ef9ab5fbe9f5  /tmp/install.sh" | sha256sum -c - \
 && sh /tmp/install.sh
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
