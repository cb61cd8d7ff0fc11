#!/bin/sh
# Boots the built images with Docker the way docs/images.md tells users to run them, and checks
# what the runc tests (Tests/IntegrationTests/ImageTests.swift) check without Docker. Run by CI
# (.github/workflows/ci.yml) after building both variants for the runner's architecture.
#
# usage: images/smoke-test.sh DEFAULT_IMAGE ROOTLESS_IMAGE [MONITORING_IMAGE]
set -eu
default=${1:?usage: smoke-test.sh DEFAULT_IMAGE ROOTLESS_IMAGE [MONITORING_IMAGE]}
rootless=${2:?usage: smoke-test.sh DEFAULT_IMAGE ROOTLESS_IMAGE [MONITORING_IMAGE]}
monitoring=${3:-}

fail() {
  echo "smoke-test: $*" >&2
  exit 1
}

# docker run with every runtime practice of SECURITY.md
hardened() {
  docker run --read-only \
    --tmpfs /run:rw,noexec,nosuid,nodev,mode=1777 --tmpfs /tmp:rw,noexec,nosuid,nodev,mode=1777 \
    --cap-drop ALL --security-opt no-new-privileges --memory 128m --pids-limit 64 "$@"
}

# The main command's exit code is the container's.
code=0
hardened --rm "$rootless" /bin/sh -c 'exit 3' || code=$?
[ "$code" -eq 3 ] || fail "rootless: CMD exited 3, the container $code"
code=0
docker run --rm "$default" /bin/sh -c 'exit 4' || code=$?
[ "$code" -eq 4 ] || fail "default: CMD exited 4, the container $code"

# The rootless image boots with no privilege: PID 1 is ibex as 10001, without capabilities.
id=$(hardened -d "$rootless")
trap 'docker rm -f "$id" >/dev/null 2>&1 || true' EXIT
status=$(docker exec "$id" cat /proc/1/status)
echo "$status" | grep -q '^Uid:[[:space:]]*10001[[:space:]]*10001[[:space:]]*10001[[:space:]]*10001$' ||
  fail "rootless: PID 1 is not uid 10001: $status"
echo "$status" | grep -q '^CapEff:[[:space:]]*0000000000000000$' || fail "rootless: PID 1 has capabilities: $status"
echo "$status" | grep -q '^NoNewPrivs:[[:space:]]*1$' || fail "rootless: no_new_privs is not set"
[ "$(docker exec "$id" readlink /init)" = /usr/sbin/ibex ] || fail "/init is not a link to /usr/sbin/ibex"

# The health check is `ibex check`, answered over /run/ibex/control.
tries=0
until docker exec "$id" /usr/sbin/ibex check; do
  tries=$((tries + 1))
  [ "$tries" -lt 30 ] || fail "rootless: ibex check did not pass"
  sleep 1
done

# docker stop: SIGTERM, ibex stops everything within IBEX_SHUTDOWN_TIMEOUT, exits 0.
docker stop -t 15 "$id" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$id")
[ "$code" = 0 ] || fail "rootless: docker stop gave exit code $code"

# The monitoring image: serve-metrics answers /readyz and /metrics on port 9469, as ibex-metrics.
if [ -n "$monitoring" ]; then
  mid=$(docker run -d --read-only --tmpfs /run:rw,noexec,nosuid,nodev --tmpfs /tmp:rw,noexec,nosuid,nodev,mode=1777 \
    --cap-drop ALL --cap-add CHOWN --cap-add SETUID --cap-add SETGID --cap-add KILL \
    --security-opt no-new-privileges "$monitoring")
  trap 'docker rm -f "$id" "$mid" >/dev/null 2>&1 || true' EXIT
  tries=0
  until docker exec "$mid" wget -q -O /dev/null http://127.0.0.1:9469/readyz; do
    tries=$((tries + 1))
    [ "$tries" -lt 30 ] || fail "monitoring: /readyz did not answer 200"
    sleep 1
  done
  docker exec "$mid" wget -q -O - http://127.0.0.1:9469/metrics | grep -q '^ibex_service_up{service="metrics"} 1$' ||
    fail "monitoring: /metrics lacks ibex_service_up for metrics.service"
  [ "$(docker exec "$mid" stat -c %G /run/ibex/control)" = ibex-metrics ] || fail "monitoring: control socket group"
  docker stop -t 15 "$mid" >/dev/null
fi
echo "smoke-test: $default $rootless $monitoring passed"
