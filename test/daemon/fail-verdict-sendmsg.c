/*
 * Test shim (LD_PRELOAD) for test/daemon/nfqueue.test.ts: makes the first N sendmsg calls that
 * carry an NFQUEUE verdict (nfnetlink message type NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_VERDICT)
 * fail with EPERM, N from the environment variable FAIL_VERDICT_SENDMSG. Every other call,
 * and every call after the N, goes to libc's sendmsg.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <sys/socket.h>

static int left = -1;

ssize_t sendmsg(int fd, const struct msghdr *mh, int flags) {
  static ssize_t (*real)(int, const struct msghdr *, int);
  if (real == NULL) real = (ssize_t (*)(int, const struct msghdr *, int))dlsym(RTLD_NEXT, "sendmsg");
  if (left < 0) {
    const char *e = getenv("FAIL_VERDICT_SENDMSG");
    left = e != NULL ? atoi(e) : 0;
  }
  if (left > 0 && mh != NULL && mh->msg_iovlen > 0 && mh->msg_iov[0].iov_len >= sizeof(struct nlmsghdr)) {
    const struct nlmsghdr *h = (const struct nlmsghdr *)mh->msg_iov[0].iov_base;
    if (h->nlmsg_type == ((3 << 8) | 1)) {
      left--;
      errno = EPERM;
      return -1;
    }
  }
  return real(fd, mh, flags);
}
