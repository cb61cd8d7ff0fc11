#!/bin/sh
# A stand-in web server: a heartbeat every two seconds; leaves cleanly on TERM.
trap 'echo "shutting down"; exit 0' TERM
echo "listening"
while :; do
  sleep 2 &
  wait $!
  echo "served $(date +%H:%M:%S)"
done
