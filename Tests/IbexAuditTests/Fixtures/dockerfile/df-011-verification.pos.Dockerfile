# expect: IBX-DF-011@3 IBX-DF-011@4 IBX-DF-011@5 IBX-DF-011@6 IBX-DF-011@7 IBX-DF-011@8
FROM alpine:3.20
RUN apk add --no-cache --allow-untrusted tool=1.0-r0
RUN curl -k -o /tmp/a https://example.com/a
RUN wget --no-check-certificate -O /tmp/b https://example.com/b
ENV NODE_TLS_REJECT_UNAUTHORIZED=0
RUN pip install --trusted-host pypi.example.com requests==2.32.3
RUN git -c http.sslVerify=false clone https://example.com/repo.git /src
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
