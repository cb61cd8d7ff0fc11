FROM alpine:3.20
RUN <<EOF
echo "heredoc without its terminator"
# expect-error: 2:5
