#!/bin/sh
# Finishes the root filesystem of an ibex image, after ibex is at /usr/sbin/ibex and rootfs/ is
# copied in. images/alpine/Dockerfile runs it as root in the final stages (bind-mounted, so the
# script is not left in the image); Tests/IntegrationTests/ImageTests.swift runs the same script
# (chroot) over a busybox root filesystem, so the test boots what the Dockerfile builds. It uses
# only what Alpine's busybox and Debian's busybox-static both have.
#
# usage: setup.sh default|rootless
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
set -eu

variant=${1:-}
uid=${IBEX_UID:-10001}
gid=${IBEX_GID:-10001}
case $variant in
  default | rootless) ;;
  *) echo "setup.sh: usage: setup.sh default|rootless" >&2; exit 2 ;;
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
# the same result as Alpine's `addgroup -S -g GID ibex && adduser -S -D -H -u UID -G ibex ibex`.
if ! grep -q '^ibex:' /etc/group; then
  if cut -d: -f3 /etc/group | grep -qx "$gid"; then
    echo "setup.sh: gid $gid is taken in /etc/group" >&2
    exit 1
  fi
  echo "ibex:x:$gid:" >>/etc/group
fi
if ! grep -q '^ibex:' /etc/passwd; then
  if cut -d: -f3 /etc/passwd | grep -qx "$uid"; then
    echo "setup.sh: uid $uid is taken in /etc/passwd" >&2
    exit 1
  fi
  echo "ibex:x:$uid:$gid:ibex:/var/empty:/sbin/nologin" >>/etc/passwd
fi
if [ -f /etc/shadow ]; then
  grep -q '^ibex:' /etc/shadow || echo 'ibex:!::0:::::' >>/etc/shadow
  sed -i 's/^root::/root:*:/' /etc/shadow
fi

find / -xdev -type f -perm /6000 -exec chmod a-s {} +

if [ "$variant" = rootless ]; then
  mkdir -p /run
  chmod 1777 /run
  mkdir -p /run/ibex
  chown "$uid:$gid" /run/ibex
  chmod 0750 /run/ibex
fi
