# ENV A=1 B=$A uses the value A had before this instruction.
FROM alpine:3.20
ENV RUNTIME_USER=10001
ENV RUNTIME_USER=root EFFECTIVE=$RUNTIME_USER
USER $EFFECTIVE
HEALTHCHECK NONE
CMD ["/bin/sh"]
# expect-not: IBX-DF-001 IBX-DF-002
