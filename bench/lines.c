/* The writer of the log-throughput benchmark (bench/log_throughput.py).
 *
 *   lines N [GO [pause|exit [CHUNK]]]
 *
 * Writes N lines of exactly 100 bytes to stdout, as fast as it can: line i
 * (from 0) is its sequence number in 10 decimal digits, a space, 88 times the
 * letter 'a' + i % 26, and '\n'. bench/log_throughput.py regenerates the same stream
 * to check what a logger wrote, byte for byte.
 *
 * GO, if given and not "-", is a FIFO: the writer opens it for reading before
 * writing anything, which blocks until the harness opens it for writing, so
 * that the measurement starts when the logger is already up and idle. With
 * "pause" the writer sleeps after the last line instead of exiting (under a
 * supervisor: no restart, no end of output).
 *
 * CHUNK, if given and not 0, is the size of each write in bytes: 4096 writes
 * what a program using stdio's full buffering on a pipe writes, pieces that
 * end anywhere in a line. Without it, each write is 650 whole lines.
 *
 * The lines are produced 650 at a time (65,000 bytes, one write into a 64 KiB
 * pipe) from a template in which only the sequence numbers change: 650 is a
 * multiple of 26, so each slot keeps its letter.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE 100
#define DIGITS 10
#define BATCH 650

static char buf[BATCH * LINE];

static void put_number(char *p, unsigned long long v) {
  for (int k = DIGITS - 1; k >= 0; k--) {
    p[k] = (char)('0' + v % 10);
    v /= 10;
  }
}

static void write_all(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      perror("lines: write");
      exit(1);
    }
    p += w;
    n -= (size_t)w;
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: lines N [GO [pause|exit [CHUNK]]]\n");
    return 2;
  }
  unsigned long long n = strtoull(argv[1], NULL, 10);
  if (argc > 2 && strcmp(argv[2], "-") != 0) {
    int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      perror("lines: open GO");
      return 1;
    }
    char c;
    while (read(fd, &c, 1) < 0 && errno == EINTR) {
    }
    close(fd);
  }
  for (int j = 0; j < BATCH; j++) {
    char *l = buf + j * LINE;
    memset(l + DIGITS, 'a' + j % 26, LINE - 1 - DIGITS);
    l[DIGITS] = ' ';
    l[LINE - 1] = '\n';
  }
  size_t chunk = argc > 4 ? (size_t)strtoul(argv[4], NULL, 10) : 0;
  for (unsigned long long i = 0; i < n; i += BATCH) {
    unsigned long long k = n - i < BATCH ? n - i : BATCH;
    for (unsigned long long j = 0; j < k; j++) put_number(buf + j * LINE, i + j);
    if (chunk == 0) {
      write_all(buf, (size_t)(k * LINE));
      continue;
    }
    /* pieces of `chunk` bytes across batch boundaries, as stdio's buffer does */
    static char pend[1 << 20];
    static size_t used;
    size_t len = (size_t)(k * LINE), off = 0;
    if (chunk > sizeof pend) chunk = sizeof pend;
    while (off < len) {
      size_t m = len - off < chunk - used ? len - off : chunk - used;
      memcpy(pend + used, buf + off, m);
      used += m;
      off += m;
      if (used == chunk) {
        write_all(pend, used);
        used = 0;
      }
    }
    if (i + k >= n && used > 0) write_all(pend, used);
  }
  if (argc > 3 && strcmp(argv[3], "pause") == 0) {
    for (;;) pause();
  }
  return 0;
}
