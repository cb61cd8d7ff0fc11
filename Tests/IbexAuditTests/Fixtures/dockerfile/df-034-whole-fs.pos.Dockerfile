# expect: IBX-DF-034@5
FROM alpine:3.20 AS build
RUN echo a > /a
FROM scratch
COPY --from=build / /
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
