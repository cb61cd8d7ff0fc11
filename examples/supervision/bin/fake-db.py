"""A stand-in database: loads for a second, then reports READY=1 to ibex over sd_notify."""
import os
import socket
import time

print("loading data...", flush=True)
time.sleep(1)
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.sendto(b"STATUS=accepting connections\nREADY=1", os.environ["NOTIFY_SOCKET"])
print("ready", flush=True)
while True:
    time.sleep(3600)
