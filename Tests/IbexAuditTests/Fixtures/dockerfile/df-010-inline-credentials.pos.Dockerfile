# expect: IBX-DF-010@5 IBX-DF-010@6 IBX-DF-010@7
FROM alpine:3.20
WORKDIR /src
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
RUN curl -fsSL -u deploy:hunter2 -o /tmp/a https://example.com/a
RUN git clone https://bot:ghp_abc123@example.com/org/repo.git /src/repo
RUN echo "$NPM_TOKEN" > /root/.npmrc
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
