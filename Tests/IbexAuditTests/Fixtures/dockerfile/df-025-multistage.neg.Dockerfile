# Tools installed in the builder stage do not reach the final image.
# expect-not: IBX-DF-025
FROM alpine:3.20 AS build
RUN apk add --no-cache build-base=0.5-r3
RUN echo build > /out
FROM alpine:3.20
COPY --from=build /out /srv/out
USER 10001
HEALTHCHECK NONE
CMD ["/bin/cat", "/srv/out"]
