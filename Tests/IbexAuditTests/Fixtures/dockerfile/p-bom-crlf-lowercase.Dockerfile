from alpine
run apk add curl=8.9.1-r0
user 10001
healthcheck NONE
cmd ["/bin/sh"]
# expect: IBX-DF-003@1 IBX-DF-014@2
