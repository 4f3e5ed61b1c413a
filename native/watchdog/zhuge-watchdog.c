/*
 * zhuge-watchdog: the fail-open watchdog as a small native process (about 1 MB resident instead
 * of the ~40 MB of a second Node.js process). Same protocol as src/daemon/watchdog-child.ts, which
 * stays as the fallback when this binary is not built:
 *
 *   usage: zhuge-watchdog STALL_MS CHECK_CMD [REMOVE_CMD...]
 *     CHECK_CMD   a /bin/sh line exiting 0 once the rules are gone ("" = no check)
 *     REMOVE_CMD  /bin/sh lines removing the rules, run in order
 *
 *   daemon -> stdin, one byte per message:  'h' heartbeat (every ~50 ms), 'b' bye (exit 0, touch
 *                                           nothing: the daemon removed its rules itself)
 *   stdout -> daemon, one line per message: "ready", "removing stall" (written before the
 *                                           removal runs), "removed stall", "remove failed stall",
 *                                           "resumed"
 *
 * No heartbeat for more than STALL_MS (the daemon is stopped or its event loop blocked): run the
 * removal once, verify it with CHECK_CMD (again after 100, 200, 400 ms), report. The first
 * heartbeat after that: "resumed" (the daemon re-installs). stdin at EOF without a bye (the daemon
 * died: crash, kill -9, OOM) or SIGTERM/SIGINT/SIGHUP: run the removal and exit 0.
 *
 * Time is CLOCK_MONOTONIC (an NTP step is not a stall). If this process itself was starved of CPU
 * (its tick came more than three periods late), heartbeats may sit unread in the pipe: it reads
 * them first and judges at the next tick, so a loaded machine gives no false stall.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got_signal = 0;
static const char *check_cmd = "";
static char **remove_cmds = NULL;
static int n_remove = 0;

static void on_signal(int sig) {
  (void)sig;
  got_signal = 1;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void out(const char *line) {
  /* the daemon may be gone: a failed write is not an error here (SIGPIPE is ignored) */
  char buf[64];
  int n = snprintf(buf, sizeof buf, "%s\n", line);
  if (n > 0) {
    ssize_t w = write(STDOUT_FILENO, buf, (size_t)n);
    (void)w;
  }
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* /bin/sh -c CMD with stdio on /dev/null, killed after 10 s; returns its exit status (-1 if none) */
static int run_sh(const char *cmd) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, STDIN_FILENO);
      dup2(devnull, STDOUT_FILENO);
      dup2(devnull, STDERR_FILENO);
    }
    signal(SIGPIPE, SIG_DFL);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  double deadline = now_ms() + 10000.0;
  for (;;) {
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0 && errno != EINTR) return -1;
    if (now_ms() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    sleep_ms(5);
  }
}

/* the removal, verified by the check when there is one; returns 1 when the rules are known gone */
static int remove_rules(void) {
  for (int attempt = 0; attempt < 4; attempt++) {
    if (attempt > 0) sleep_ms(100L << (attempt - 1));
    for (int i = 0; i < n_remove; i++) run_sh(remove_cmds[i]);
    if (check_cmd[0] == '\0') return 1;
    if (run_sh(check_cmd) == 0) return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: zhuge-watchdog STALL_MS CHECK_CMD [REMOVE_CMD...]\n");
    return 2;
  }
  double stall_ms = atof(argv[1]);
  if (!(stall_ms > 0)) stall_ms = 200;
  check_cmd = argv[2];
  remove_cmds = argv + 3;
  n_remove = argc - 3;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  double period = stall_ms / 4;
  if (period < 5) period = 5;
  if (period > 50) period = 50;
  double last = now_ms();
  double last_tick = last;
  int removed = 0;
  out("ready");

  for (;;) {
    double t = now_ms();
    int timeout = (int)(period - (t - last_tick));
    if (timeout < 0) timeout = 0;
    struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
    int r = poll(&pfd, 1, timeout);
    if (got_signal) {
      remove_rules();
      return 0;
    }
    if (r < 0 && errno != EINTR) {
      remove_rules();
      return 0;
    }
    if (r > 0) {
      char buf[256];
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        /* the daemon is gone without a bye */
        remove_rules();
        return 0;
      }
      for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == 'b') return 0;
        if (buf[i] == 'h') {
          last = now_ms();
          if (removed) {
            removed = 0;
            out("resumed");
          }
        }
      }
    }
    t = now_ms();
    if (t - last_tick < period) continue;
    int late = t - last_tick > 3 * period;
    last_tick = t;
    if (late) continue;
    if (!removed && t - last > stall_ms) {
      removed = 1;
      out("removing stall"); /* first: the daemon knows before its own listing can see them gone */
      int gone = remove_rules();
      last_tick = now_ms();
      out(gone ? "removed stall" : "remove failed stall");
    }
  }
}
