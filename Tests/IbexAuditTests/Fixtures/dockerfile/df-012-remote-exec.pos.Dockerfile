# expect: IBX-DF-012@4 IBX-DF-012@5 IBX-DF-012@6
FROM alpine:3.20
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
RUN curl -fsSL https://example.com/install.sh | sh
RUN sh -c "$(wget -qO- https://example.com/install.sh)"
RUN bash <(curl -fsSL https://example.com/install.sh)
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
