# expect: IBX-DF-016@3 IBX-DF-016@4 IBX-DF-016@5 IBX-DF-016@6
FROM debian:12.7
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
RUN pip install requests
RUN npm install -g typescript
RUN gem install bundler
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
