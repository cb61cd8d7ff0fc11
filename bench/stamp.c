// A job for bench/timers.py: appends "NAME SECONDS.NANOSECONDS\n" (CLOCK_REALTIME, read first
// thing after execve) to FILE. usage: stamp NAME FILE
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if (argc != 3) return 2;
  char line[256];
  int n = snprintf(line, sizeof line, "%s %lld.%09ld\n", argv[1], (long long)now.tv_sec, now.tv_nsec);
  int fd = open(argv[2], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || n <= 0 || write(fd, line, (size_t)n) != n) return 1;
  return close(fd) == 0 ? 0 : 1;
}
