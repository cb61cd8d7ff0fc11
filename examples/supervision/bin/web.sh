#!/bin/sh
# A stand-in web server: a heartbeat every two seconds; leaves cleanly on TERM.
trap 'echo "web: shutting down"; exit 0' TERM
echo "web: listening"
while :; do
  sleep 2 &
  wait $!
  echo "web: served $(date +%H:%M:%S)"
done
