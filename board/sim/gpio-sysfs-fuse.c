/* gpio-sysfs-fuse: the kernel's legacy sysfs GPIO interface (/sys/class/gpio)
 * as a FUSE filesystem, for running the REAL onoff + epoll addon on machines
 * without GPIO hardware (or without CONFIG_GPIOLIB). Mount it on
 * /sys/class/gpio inside a private mount namespace (board/sim/sim-run.ts does).
 *
 * Files, with the kernel's semantics:
 *   export, unexport        write a number; export twice = EBUSY, unknown = EINVAL
 *   gpioN/direction         in | out | low | high. "out"/"low"/"high" set the RAW
 *                           electrical level (active_low is not applied), as
 *                           gpiolib-sysfs does
 *   gpioN/value             logical level (electrical XOR active_low); writing an
 *                           input = EPERM
 *   gpioN/edge              none | rising | falling | both; on an output = EIO
 *   gpioN/active_low        0 | 1
 * and poll(): gpioN/value reports POLLPRI|POLLERR once per edge event until it
 * is read again (sysfs_notify semantics), so onoff's epoll(EPOLLPRI) wakes up.
 *
 * Test controls (not in the kernel's ABI):
 *   _sim/gpioN              read: electrical level; write 0/1: drive an input pin
 *   $GPIO_SIM_TRACE=FILE    one line per change, for assertions:
 *                           "<ms> export 529", "<ms> gpio529 out 0", "<ms> gpio529 value 1",
 *                           "<ms> unexport 529" (levels are electrical)
 *
 * Build: cc -O2 -Wall gpio-sysfs-fuse.c $(pkg-config --cflags --libs fuse3)
 * Run:   gpio-sysfs-fuse MOUNTPOINT -f -s     (foreground, single-threaded)
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fuse.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NGPIO 4096

enum edge { EDGE_NONE = 0, EDGE_RISING = 1, EDGE_FALLING = 2, EDGE_BOTH = 3 };
static const char *const EDGE_NAMES[] = { "none", "rising", "falling", "both" };

struct gpio {
  int exported, output, phys, active_low;
  enum edge edge;
  unsigned events; /* edge events so far */
};

enum node { N_ROOT, N_EXPORT, N_UNEXPORT, N_SIMDIR, N_SIM, N_PINDIR, N_VALUE, N_DIRECTION, N_EDGE, N_ACTIVE_LOW };

/* One open file. Value handles are kept in a list so edges can wake pollers. */
struct handle {
  enum node node;
  int pin;
  unsigned seen; /* events when this handle last read `value` */
  struct fuse_pollhandle *poll;
  struct handle *next;
};

static struct gpio gpios[NGPIO];
static struct handle *value_handles;
static FILE *trace;

static void tracef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void tracef(const char *fmt, ...) {
  if (!trace) return;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  fprintf(trace, "%lld ", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(trace, fmt, ap);
  va_end(ap);
  fputc('\n', trace);
  fflush(trace);
}

static int logical(const struct gpio *g) { return g->phys ^ g->active_low; }

/* Maps a path to a node; returns 0 or -ENOENT. */
static int lookup(const char *path, enum node *node, int *pin) {
  char rest[32];
  int n, used = 0;
  *pin = -1;
  if (!strcmp(path, "/")) { *node = N_ROOT; return 0; }
  if (!strcmp(path, "/export")) { *node = N_EXPORT; return 0; }
  if (!strcmp(path, "/unexport")) { *node = N_UNEXPORT; return 0; }
  if (!strcmp(path, "/_sim")) { *node = N_SIMDIR; return 0; }
  if (sscanf(path, "/_sim/gpio%d%n", &n, &used) == 1 && path[used] == 0) {
    if (n < 0 || n >= NGPIO || !gpios[n].exported) return -ENOENT;
    *node = N_SIM; *pin = n; return 0;
  }
  if (sscanf(path, "/gpio%d%n", &n, &used) != 1) return -ENOENT;
  if (n < 0 || n >= NGPIO || !gpios[n].exported) return -ENOENT;
  *pin = n;
  if (path[used] == 0) { *node = N_PINDIR; return 0; }
  if (strlen(path + used) >= sizeof rest) return -ENOENT;
  strcpy(rest, path + used);
  if (!strcmp(rest, "/value")) *node = N_VALUE;
  else if (!strcmp(rest, "/direction")) *node = N_DIRECTION;
  else if (!strcmp(rest, "/edge")) *node = N_EDGE;
  else if (!strcmp(rest, "/active_low")) *node = N_ACTIVE_LOW;
  else return -ENOENT;
  return 0;
}

static int is_dir(enum node n) { return n == N_ROOT || n == N_SIMDIR || n == N_PINDIR; }

static void *sim_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
  (void)conn;
  /* No caching anywhere: every stat, lookup and read must reach us, as with sysfs. */
  cfg->entry_timeout = 0;
  cfg->attr_timeout = 0;
  cfg->negative_timeout = 0;
  cfg->direct_io = 1;
  return NULL;
}

static int sim_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  (void)fi;
  enum node node;
  int pin, r = lookup(path, &node, &pin);
  if (r) return r;
  memset(st, 0, sizeof *st);
  st->st_atime = st->st_mtime = st->st_ctime = time(NULL);
  if (is_dir(node)) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
  } else {
    st->st_mode = S_IFREG | (node == N_EXPORT || node == N_UNEXPORT ? 0200 : 0644);
    st->st_nlink = 1;
    st->st_size = 4096; /* like sysfs attributes */
  }
  return 0;
}

static int sim_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
                       enum fuse_readdir_flags flags) {
  (void)off; (void)fi; (void)flags;
  enum node node;
  int pin, r = lookup(path, &node, &pin);
  if (r) return r;
  if (!is_dir(node)) return -ENOTDIR;
  fill(buf, ".", NULL, 0, 0);
  fill(buf, "..", NULL, 0, 0);
  if (node == N_PINDIR) {
    static const char *const attrs[] = { "value", "direction", "edge", "active_low" };
    for (size_t i = 0; i < sizeof attrs / sizeof *attrs; i++) fill(buf, attrs[i], NULL, 0, 0);
    return 0;
  }
  if (node == N_ROOT) {
    fill(buf, "export", NULL, 0, 0);
    fill(buf, "unexport", NULL, 0, 0);
    fill(buf, "_sim", NULL, 0, 0);
  }
  char name[32];
  for (int i = 0; i < NGPIO; i++) {
    if (!gpios[i].exported) continue;
    snprintf(name, sizeof name, "gpio%d", i);
    fill(buf, name, NULL, 0, 0);
  }
  return 0;
}

static int sim_open(const char *path, struct fuse_file_info *fi) {
  enum node node;
  int pin, r = lookup(path, &node, &pin);
  if (r) return r;
  if (is_dir(node)) return -EISDIR;
  struct handle *h = calloc(1, sizeof *h);
  if (!h) return -ENOMEM;
  h->node = node;
  h->pin = pin;
  h->seen = pin >= 0 ? gpios[pin].events : 0;
  if (node == N_VALUE) {
    h->next = value_handles;
    value_handles = h;
  }
  fi->fh = (uint64_t)(uintptr_t)h;
  fi->direct_io = 1;
  fi->nonseekable = 0;
  return 0;
}

static int sim_release(const char *path, struct fuse_file_info *fi) {
  (void)path;
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  for (struct handle **p = &value_handles; *p; p = &(*p)->next) {
    if (*p == h) { *p = h->next; break; }
  }
  if (h->poll) fuse_pollhandle_destroy(h->poll);
  free(h);
  return 0;
}

static int sim_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)path;
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  if (h->pin >= 0 && !gpios[h->pin].exported) return -ENODEV; /* unexported under an open handle */
  struct gpio *g = h->pin >= 0 ? &gpios[h->pin] : NULL;
  char text[16];
  switch (h->node) {
  case N_VALUE:
    snprintf(text, sizeof text, "%d\n", logical(g));
    h->seen = g->events; /* reading clears the pending POLLPRI */
    break;
  case N_DIRECTION: snprintf(text, sizeof text, "%s\n", g->output ? "out" : "in"); break;
  case N_EDGE: snprintf(text, sizeof text, "%s\n", EDGE_NAMES[g->edge]); break;
  case N_ACTIVE_LOW: snprintf(text, sizeof text, "%d\n", g->active_low); break;
  case N_SIM: snprintf(text, sizeof text, "%d\n", g->phys); break;
  default: return -EIO; /* export/unexport are write-only */
  }
  size_t len = strlen(text);
  if (off < 0 || (size_t)off >= len) return 0;
  if (size > len - (size_t)off) size = len - (size_t)off;
  memcpy(buf, text + off, size);
  return (int)size;
}

/* Wakes every poller of a pin's value file. */
static void notify(int pin) {
  for (struct handle *h = value_handles; h; h = h->next) {
    if (h->pin != pin || !h->poll) continue;
    fuse_notify_poll(h->poll);
    fuse_pollhandle_destroy(h->poll);
    h->poll = NULL;
  }
}

/* An external level change on an input pin; counts an edge event if `edge` wants it. */
static void drive(int pin, int phys) {
  struct gpio *g = &gpios[pin];
  int before = logical(g);
  g->phys = phys ? 1 : 0;
  int after = logical(g);
  tracef("gpio%d drive %d", pin, g->phys);
  if (before == after) return;
  if ((after && (g->edge & EDGE_RISING)) || (!after && (g->edge & EDGE_FALLING))) {
    g->events++;
    notify(pin);
  }
}

/* Parses a decimal number written by the user ("17\n"); -1 if it is not one. */
static long number(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || (*end && *end != '\n')) return -1;
  return v;
}

static int sim_write(const char *path, const char *data, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)path; (void)off;
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  char v[32];
  size_t n = size < sizeof v - 1 ? size : sizeof v - 1;
  memcpy(v, data, n);
  v[n] = 0;
  v[strcspn(v, "\n")] = 0;
  if (h->pin >= 0 && !gpios[h->pin].exported) return -ENODEV;
  struct gpio *g = h->pin >= 0 ? &gpios[h->pin] : NULL;
  long num;
  switch (h->node) {
  case N_EXPORT:
    num = number(v);
    if (num < 0 || num >= NGPIO) return -EINVAL;
    if (gpios[num].exported) return -EBUSY;
    memset(&gpios[num], 0, sizeof gpios[num]);
    gpios[num].exported = 1;
    tracef("export %ld", num);
    break;
  case N_UNEXPORT:
    num = number(v);
    if (num < 0 || num >= NGPIO || !gpios[num].exported) return -EINVAL;
    gpios[num].exported = 0;
    tracef("unexport %ld", num);
    break;
  case N_DIRECTION:
    if (!strcmp(v, "in")) {
      g->output = 0;
    } else if (!strcmp(v, "out") || !strcmp(v, "low") || !strcmp(v, "high")) {
      g->output = 1;
      g->phys = !strcmp(v, "high");
    } else {
      return -EINVAL;
    }
    if (g->output) g->edge = EDGE_NONE;
    tracef("gpio%d %s %d", h->pin, g->output ? "out" : "in", g->phys);
    break;
  case N_VALUE:
    if (!g->output) return -EPERM;
    num = number(v);
    if (num < 0) return -EINVAL;
    g->phys = (num ? 1 : 0) ^ g->active_low;
    tracef("gpio%d value %d", h->pin, g->phys);
    break;
  case N_EDGE:
    if (g->output) return -EIO;
    if (!strcmp(v, "none")) g->edge = EDGE_NONE;
    else if (!strcmp(v, "rising")) g->edge = EDGE_RISING;
    else if (!strcmp(v, "falling")) g->edge = EDGE_FALLING;
    else if (!strcmp(v, "both")) g->edge = EDGE_BOTH;
    else return -EINVAL;
    break;
  case N_ACTIVE_LOW:
    num = number(v);
    if (num < 0) return -EINVAL;
    g->active_low = num ? 1 : 0;
    break;
  case N_SIM:
    if (g->output) return -EPERM; /* an output pin's level is the program's */
    num = number(v);
    if (num < 0) return -EINVAL;
    drive(h->pin, (int)num);
    break;
  default:
    return -EIO;
  }
  return (int)size;
}

/* writeFileSync opens with O_TRUNC; sysfs ignores it. */
static int sim_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
  (void)path; (void)size; (void)fi;
  return 0;
}

static int sim_poll(const char *path, struct fuse_file_info *fi, struct fuse_pollhandle *ph, unsigned *revents) {
  (void)path;
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  if (ph) {
    if (h->poll) fuse_pollhandle_destroy(h->poll);
    h->poll = ph;
  }
  unsigned r = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
  if (h->node == N_VALUE && h->pin >= 0 && h->seen != gpios[h->pin].events) r |= POLLPRI | POLLERR;
  *revents = r;
  return 0;
}

static const struct fuse_operations ops = {
  .init = sim_init,
  .getattr = sim_getattr,
  .readdir = sim_readdir,
  .open = sim_open,
  .release = sim_release,
  .read = sim_read,
  .write = sim_write,
  .truncate = sim_truncate,
  .poll = sim_poll,
};

int main(int argc, char *argv[]) {
  const char *t = getenv("GPIO_SIM_TRACE");
  if (t && *t) {
    trace = fopen(t, "a");
    if (!trace) { perror(t); return 1; }
  }
  return fuse_main(argc, argv, &ops, NULL);
}
