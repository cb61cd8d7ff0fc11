# --from may name an earlier stage (any case), its index, or an image.
# expect-not: IBX-DF-032
FROM alpine:3.20 AS Build
RUN echo a > /a
FROM alpine:3.20
COPY --from=BUILD /a /srv/a
COPY --from=0 /a /srv/b
COPY --from=busybox:1.36 /bin/busybox /srv/busybox
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
