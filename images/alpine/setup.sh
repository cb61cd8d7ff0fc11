#!/bin/sh
# Finishes the root filesystem of an ibex image, after ibex is at /usr/sbin/ibex and rootfs/ is
# copied in. images/alpine/Dockerfile runs it as root in the final stages (bind-mounted, so the
# script is not left in the image); Tests/IntegrationTests/ImageTests.swift runs the same script
# (chroot) over a busybox root filesystem, so the test boots what the Dockerfile builds. It uses
# only what Alpine's busybox and Debian's busybox-static both have.
#
# usage: setup.sh default|rootless|monitoring
#   both      /init -> /usr/sbin/ibex (ibex runs as `ibex init` under that name);
#             /command: links to ibex for the s6-overlay commands user scripts call
#             (with-contenv, s6-svc, s6-setuidgid, ...: docs/s6-commands.md);
#             /etc/ibex/services, root's and read-only for everyone else, so a compromised
#             service cannot add services;
#             the account `ibex` (IBEX_UID:IBEX_GID, 10001:10001), without password, login
#             shell or home, for services' User=ibex and for the rootless variant;
#             setuid and setgid bits removed from every file;
#             root's password locked if it is empty.
#   rootless  /run made world-writable with the sticky bit (1777, as /tmp): a tmpfs mounted
#             on /run without a mode= option gets the mode of the directory it covers (runc,
#             crun), and tmpfs is always root's, so ibex running as 10001 can create /run/ibex on
#             a read-only root with a plain `--tmpfs /run`; and /run/ibex owned by ibex, for a
#             writable root.
#   monitoring  (after default) the account `ibex-metrics` (IBEX_METRICS_UID:IBEX_METRICS_GID,
#             10002:10002), which runs metrics.service (`ibex serve-metrics`) and is the control
#             socket's read-only group; metrics.service root's, 0644.
set -eu

variant=${1:-}
uid=${IBEX_UID:-10001}
gid=${IBEX_GID:-10001}
case $variant in
  default | rootless | monitoring) ;;
  *) echo "setup.sh: usage: setup.sh default|rootless|monitoring" >&2; exit 2 ;;
esac
if [ ! -x /usr/sbin/ibex ]; then
  echo "setup.sh: /usr/sbin/ibex is missing: copy ibex in first" >&2
  exit 1
fi

ln -sfn /usr/sbin/ibex /init
/usr/sbin/ibex install-links --target /usr/sbin/ibex /command >/dev/null
mkdir -p /etc/ibex/services
chmod 0755 /etc/ibex /etc/ibex/services

# Written directly rather than with adduser (which Debian's busybox-static lacks): one line each,
# the same result as Alpine's `addgroup -S -g GID NAME && adduser -S -D -H -u UID -G NAME NAME`.
# usage: account NAME UID GID
account() {
  if ! grep -q "^$1:" /etc/group; then
    if cut -d: -f3 /etc/group | grep -qx "$3"; then
      echo "setup.sh: gid $3 is taken in /etc/group" >&2
      exit 1
    fi
    echo "$1:x:$3:" >>/etc/group
  fi
  if ! grep -q "^$1:" /etc/passwd; then
    if cut -d: -f3 /etc/passwd | grep -qx "$2"; then
      echo "setup.sh: uid $2 is taken in /etc/passwd" >&2
      exit 1
    fi
    echo "$1:x:$2:$3:$1:/var/empty:/sbin/nologin" >>/etc/passwd
  fi
  if [ -f /etc/shadow ]; then
    grep -q "^$1:" /etc/shadow || echo "$1:!::0:::::" >>/etc/shadow
  fi
}
account ibex "$uid" "$gid"
if [ -f /etc/shadow ]; then sed -i 's/^root::/root:*:/' /etc/shadow; fi

find / -xdev -type f -perm /6000 -exec chmod a-s {} +

if [ "$variant" = monitoring ]; then
  account ibex-metrics "${IBEX_METRICS_UID:-10002}" "${IBEX_METRICS_GID:-10002}"
  if [ ! -f /etc/ibex/services/metrics.service ]; then
    echo "setup.sh: /etc/ibex/services/metrics.service is missing: copy images/alpine/monitoring/ in first" >&2
    exit 1
  fi
  chown 0:0 /etc/ibex/services/metrics.service
  chmod 0644 /etc/ibex/services/metrics.service
fi

if [ "$variant" = rootless ]; then
  mkdir -p /run
  chmod 1777 /run
  mkdir -p /run/ibex
  chown "$uid:$gid" /run/ibex
  chmod 0750 /run/ibex
fi
