// TCP for `ibex serve-metrics` (a separate, unprivileged process: PID 1 never listens on the
// network).
#define _GNU_SOURCE
#include "CIbex.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int ibex_tcp_listen(const char *address, int ipv6, uint16_t port, int backlog) {
  struct sockaddr_storage storage;
  memset(&storage, 0, sizeof storage);
  socklen_t size;
  if (ipv6) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&storage;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, address, &in6->sin6_addr) != 1) return -EINVAL;
    size = sizeof *in6;
  } else {
    struct sockaddr_in *in4 = (struct sockaddr_in *)&storage;
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    if (inet_pton(AF_INET, address, &in4->sin_addr) != 1) return -EINVAL;
    size = sizeof *in4;
  }
  int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int on = 1, off = 0;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
      (ipv6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0) ||
      bind(fd, (struct sockaddr *)&storage, size) < 0 || listen(fd, backlog) < 0) {
    int error = errno;
    close(fd);
    return -error;
  }
  return fd;
}

int ibex_tcp_accept(int listener) {
  int fd;
  do fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  return fd < 0 ? -errno : fd;
}

int ibex_shutdown_write(int fd) { return shutdown(fd, SHUT_WR) < 0 ? -errno : 0; }

long ibex_page_size(void) { return sysconf(_SC_PAGESIZE); }
