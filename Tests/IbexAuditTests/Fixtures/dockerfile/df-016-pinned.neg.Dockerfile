# expect-not: IBX-DF-016
FROM debian:12.7
RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u7 && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir requests==2.32.3
RUN pip install --no-cache-dir -r requirements.txt
RUN npm install -g typescript@5.6.3
RUN gem install bundler -v 2.5.22
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
