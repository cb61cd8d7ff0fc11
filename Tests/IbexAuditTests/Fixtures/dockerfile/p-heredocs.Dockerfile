FROM alpine:3.20
RUN <<EOF
set -e
apk add --no-cache curl
EOF
# a comment straight after the terminator
RUN <<-TABBED sh
	apk add --no-cache jq
	TABBED
RUN <<"ONE" <<'TWO' cat > /dev/null
$NOT_EXPANDED
ONE
FROM python:3.12
TWO
RUN --mount=type=cache,target=/root/.cache <<EOT python3
from os import path
RUN = "not an instruction"
print(path.sep)
EOT
COPY --chmod=755 <<"EOF" /usr/local/bin/start
#!/bin/sh
exec /srv/app "$@"
EOF
COPY <<EOF /etc/motd
FROM here on, no instructions
EOF
USER 10001
HEALTHCHECK NONE
CMD ["/bin/sh"]
# expect: IBX-DF-015@4 IBX-DF-015@8
# expect-not: IBX-DF-003 IBX-DF-016 IBX-DF-004
