# expect: IBX-DF-032@5 IBX-DF-032@6 IBX-DF-032@8
FROM alpine:3.20 AS build
RUN echo a > /a
FROM alpine:3.20 AS build
COPY --from=buidler /a /a
COPY --from=build /a /b
FROM alpine:3.20
COPY --from=5 /a /a
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
