/* i2c-sim-preload.so: an LD_PRELOAD library that simulates /dev/i2c-N with
 * relay-board port expanders on it, so the REAL i2c-bus native addon (open,
 * ioctl I2C_SLAVE / I2C_FUNCS / I2C_SMBUS, read/write) runs unchanged on a
 * machine without I2C. FUSE cannot do this: the I2C_SMBUS ioctl carries a
 * nested data pointer that FUSE's restricted ioctls cannot transfer.
 *
 * Environment:
 *   I2C_SIM="pcf8574@0x20,mcp23017@0x27"   the devices (default: those two)
 *   I2C_SIM_BUS=1        only /dev/i2c-1 exists (default: any bus number)
 *   I2C_SIM_STATE=FILE   rewritten after every write: one line per device, e.g.
 *                          0x20 pcf8574 latch=0xfe
 *                          0x27 mcp23017 iodira=0x00 iodirb=0x00 olata=0x01 olatb=0x00
 *   I2C_SIM_LOG=FILE     appended: one line per transfer ("0x20 send 0xfe",
 *                        "0x27 write 0x14 0x01", "0x27 read 0x12 0x01", "0x21 nack")
 *
 * A transfer to an address without a device fails with EREMOTEIO, as a real
 * adapter reports a missing ACK (i2c-bus then throws errno 121, code '').
 *
 * The handle is a memfd, so fstat/close/dup behave. libuv closes files with a
 * raw close syscall that bypasses this library, so a tracked fd is only
 * believed while its inode is still the memfd's (fd numbers are reused).
 *
 * Build: cc -O2 -Wall -shared -fPIC i2c-sim-preload.c -o i2c-sim-preload.so -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum model { NONE, PCF8574, MCP23017 };

struct device {
  enum model model;
  unsigned char latch;     /* PCF8574 */
  unsigned char regs[0x16]; /* MCP23017, IOCON.BANK = 0 */
  unsigned char pointer;   /* MCP23017 register pointer */
};

#define MAXFD 4096
struct tracked {
  int open;   /* 1 = a simulated bus handle */
  int addr;   /* selected slave address, -1 = none yet */
  ino_t ino;  /* the memfd's inode */
};

static struct device devices[128];
static struct tracked fds[MAXFD];
static int bus_only = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The next definition of a libc function (looked up once). */
#define REAL(name)                                                  \
  ({                                                                \
    static __typeof__(&name) real_;                                 \
    if (!real_) real_ = (__typeof__(&name))dlsym(RTLD_NEXT, #name); \
    real_;                                                          \
  })

static void setup(void) {
  const char *bus = getenv("I2C_SIM_BUS");
  if (bus && *bus) bus_only = atoi(bus);
  const char *cfg = getenv("I2C_SIM");
  if (!cfg) cfg = "pcf8574@0x20,mcp23017@0x27";
  char *copy = strdup(cfg), *save = NULL;
  for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    char *at = strchr(item, '@');
    if (!at) continue;
    *at = 0;
    long a = strtol(at + 1, NULL, 0);
    if (a < 0 || a > 127) continue;
    struct device *d = &devices[a];
    memset(d, 0, sizeof *d);
    if (!strcmp(item, "pcf8574")) {
      d->model = PCF8574;
      d->latch = 0xff; /* power-on: all pins high */
    } else if (!strcmp(item, "mcp23017")) {
      d->model = MCP23017;
      d->regs[0x00] = d->regs[0x01] = 0xff; /* IODIR: all inputs at power-on */
    } else {
      fprintf(stderr, "i2c-sim-preload: unknown device model '%s' in I2C_SIM\n", item);
    }
  }
  free(copy);
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...) {
  const char *p = getenv("I2C_SIM_LOG");
  if (!p || !*p) return;
  FILE *f = fopen(p, "a");
  if (!f) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fputc('\n', f);
  fclose(f);
}

/* Rewrites the state file atomically (tmp + rename): readers never see half of it. */
static void dump_state(void) {
  const char *p = getenv("I2C_SIM_STATE");
  if (!p || !*p) return;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.%d.tmp", p, (int)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  for (int a = 0; a < 128; a++) {
    const struct device *d = &devices[a];
    if (d->model == PCF8574) fprintf(f, "0x%02x pcf8574 latch=0x%02x\n", a, d->latch);
    if (d->model == MCP23017)
      fprintf(f, "0x%02x mcp23017 iodira=0x%02x iodirb=0x%02x olata=0x%02x olatb=0x%02x\n", a, d->regs[0x00], d->regs[0x01],
              d->regs[0x14], d->regs[0x15]);
  }
  fclose(f);
  rename(tmp, p);
}

/* "/dev/i2c-<n>" for a bus this simulation provides: 1 = ours, 0 = not an I2C path, -1 = no such bus. */
static int sim_path(const char *path) {
  if (!path || strncmp(path, "/dev/i2c-", 9) != 0) return 0;
  char *end;
  long n = strtol(path + 9, &end, 10);
  if (end == path + 9 || *end) return 0;
  pthread_once(&once, setup);
  return bus_only < 0 || n == bus_only ? 1 : -1;
}

static int open_bus(void) {
  int fd = memfd_create("i2c-sim", MFD_CLOEXEC);
  struct stat st;
  if (fd < 0) return -1;
  if (fd >= MAXFD || fstat(fd, &st) != 0) {
    REAL(close)(fd);
    errno = EMFILE;
    return -1;
  }
  pthread_mutex_lock(&lock);
  fds[fd] = (struct tracked){ .open = 1, .addr = -1, .ino = st.st_ino };
  pthread_mutex_unlock(&lock);
  return fd;
}

static int tracked(int fd) {
  if (fd < 0 || fd >= MAXFD || !fds[fd].open) return 0;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_ino != fds[fd].ino) {
    fds[fd].open = 0; /* the number was reused for another file */
    return 0;
  }
  return 1;
}

/* The device selected on a handle, or NULL with errno = EREMOTEIO (no ACK). */
static struct device *target(int fd) {
  int a = fds[fd].addr;
  if (a < 0 || devices[a].model == NONE) {
    logf_("0x%02x nack", a < 0 ? 0 : a);
    errno = EREMOTEIO;
    return NULL;
  }
  return &devices[a];
}

static unsigned char mcp_read(const struct device *d, int reg) {
  if (reg == 0x12 || reg == 0x13) {
    int port = reg - 0x12;
    unsigned char dir = d->regs[port], olat = d->regs[0x14 + port];
    return (unsigned char)((olat & ~dir) | (0xff & dir)); /* inputs float high (pull-ups) */
  }
  return reg >= 0 && reg < 0x16 ? d->regs[reg] : 0;
}

static void mcp_write(struct device *d, int reg, unsigned char v) {
  if (reg == 0x12 || reg == 0x13) reg += 2; /* writing GPIOx writes OLATx */
  if (reg >= 0 && reg < 0x16) d->regs[reg] = v;
}

static int smbus(int fd, struct i2c_smbus_ioctl_data *x) {
  struct device *d = target(fd);
  if (!d) return -1;
  int a = fds[fd].addr, rd = x->read_write == I2C_SMBUS_READ;
  switch (x->size) {
  case I2C_SMBUS_QUICK:
    return 0;
  case I2C_SMBUS_BYTE:
    if (d->model == PCF8574) {
      if (rd) x->data->byte = d->latch;
      else d->latch = x->command;
    } else {
      if (rd) x->data->byte = mcp_read(d, d->pointer);
      else d->pointer = x->command;
    }
    logf_("0x%02x %s 0x%02x", a, rd ? "recv" : "send", rd ? x->data->byte : x->command);
    break;
  case I2C_SMBUS_BYTE_DATA:
    if (d->model != MCP23017) { errno = EIO; return -1; }
    if (rd) x->data->byte = mcp_read(d, x->command);
    else mcp_write(d, x->command, x->data->byte);
    logf_("0x%02x %s 0x%02x 0x%02x", a, rd ? "read" : "write", x->command, x->data->byte);
    break;
  case I2C_SMBUS_WORD_DATA:
    if (d->model != MCP23017) { errno = EIO; return -1; }
    if (rd) {
      x->data->word = (unsigned short)(mcp_read(d, x->command) | (mcp_read(d, x->command + 1) << 8));
    } else {
      mcp_write(d, x->command, x->data->word & 0xff);
      mcp_write(d, x->command + 1, x->data->word >> 8);
    }
    logf_("0x%02x %sw 0x%02x 0x%04x", a, rd ? "read" : "write", x->command, x->data->word);
    break;
  case I2C_SMBUS_I2C_BLOCK_DATA:
    if (d->model != MCP23017) { errno = EIO; return -1; }
    for (int i = 0; i < x->data->block[0] && i < I2C_SMBUS_BLOCK_MAX; i++) {
      if (rd) x->data->block[i + 1] = mcp_read(d, x->command + i);
      else mcp_write(d, x->command + i, x->data->block[i + 1]);
    }
    logf_("0x%02x %sblock 0x%02x len %d", a, rd ? "read" : "write", x->command, x->data->block[0]);
    break;
  default:
    errno = EOPNOTSUPP;
    return -1;
  }
  if (!rd) dump_state();
  return 0;
}

static int sim_ioctl(int fd, unsigned long req, void *arg) {
  switch (req) {
  case I2C_SLAVE:
  case I2C_SLAVE_FORCE: {
    long a = (long)arg;
    if (a < 0 || a > 127) { errno = EINVAL; return -1; }
    fds[fd].addr = (int)a;
    return 0;
  }
  case I2C_FUNCS:
    *(unsigned long *)arg = I2C_FUNC_I2C | I2C_FUNC_SMBUS_QUICK | I2C_FUNC_SMBUS_BYTE | I2C_FUNC_SMBUS_BYTE_DATA |
                            I2C_FUNC_SMBUS_WORD_DATA | I2C_FUNC_SMBUS_I2C_BLOCK;
    return 0;
  case I2C_SMBUS:
    return smbus(fd, arg);
  default:
    errno = ENOTTY;
    return -1;
  }
}

/* Plain transfers (i2c-bus's i2cReadSync/i2cWriteSync use read/write on the handle). */
static ssize_t xfer_read(int fd, void *buf, size_t n) {
  struct device *d = target(fd);
  if (!d) return -1;
  unsigned char *b = buf;
  for (size_t i = 0; i < n; i++) b[i] = d->model == PCF8574 ? d->latch : mcp_read(d, d->pointer++);
  logf_("0x%02x rawread %zu", fds[fd].addr, n);
  return (ssize_t)n;
}

static ssize_t xfer_write(int fd, const void *buf, size_t n) {
  struct device *d = target(fd);
  if (!d) return -1;
  const unsigned char *b = buf;
  if (d->model == PCF8574) {
    if (n) d->latch = b[n - 1];
  } else if (n) {
    d->pointer = b[0];
    for (size_t i = 1; i < n; i++) mcp_write(d, d->pointer++, b[i]);
  }
  logf_("0x%02x rawwrite %zu", fds[fd].addr, n);
  dump_state();
  return (ssize_t)n;
}

/* ---- interposed libc entry points ---- */

static int open_common(const char *path) {
  int s = sim_path(path);
  if (s < 0) { errno = ENOENT; return -1; }
  return open_bus();
}

int open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = va_arg(ap, mode_t);
  va_end(ap);
  if (sim_path(path)) return open_common(path);
  return REAL(open)(path, flags, mode);
}

int open64(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = va_arg(ap, mode_t);
  va_end(ap);
  if (sim_path(path)) return open_common(path);
  return REAL(open64)(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = va_arg(ap, mode_t);
  va_end(ap);
  if (sim_path(path)) return open_common(path);
  return REAL(openat)(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = va_arg(ap, mode_t);
  va_end(ap);
  if (sim_path(path)) return open_common(path);
  return REAL(openat64)(dirfd, path, flags, mode);
}

/* _FORTIFY_SOURCE builds call these instead of open(). */
int __open_2(const char *path, int flags) {
  if (sim_path(path)) return open_common(path);
  return REAL(__open_2)(path, flags);
}

int __open64_2(const char *path, int flags) {
  if (sim_path(path)) return open_common(path);
  return REAL(__open64_2)(path, flags);
}

int close(int fd) {
  if (fd >= 0 && fd < MAXFD) fds[fd].open = 0;
  return REAL(close)(fd);
}

int ioctl(int fd, unsigned long req, ...) {
  va_list ap;
  va_start(ap, req);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  pthread_mutex_lock(&lock);
  if (!tracked(fd)) {
    pthread_mutex_unlock(&lock);
    return REAL(ioctl)(fd, req, arg);
  }
  int r = sim_ioctl(fd, req, arg);
  int e = errno;
  pthread_mutex_unlock(&lock);
  errno = e;
  return r;
}

#define XFER(call, real)               \
  pthread_mutex_lock(&lock);           \
  if (tracked(fd)) {                   \
    ssize_t r = call;                  \
    int e = errno;                     \
    pthread_mutex_unlock(&lock);       \
    errno = e;                         \
    return r;                          \
  }                                    \
  pthread_mutex_unlock(&lock);         \
  return real;

ssize_t read(int fd, void *b, size_t n) { XFER(xfer_read(fd, b, n), REAL(read)(fd, b, n)) }
ssize_t write(int fd, const void *b, size_t n) { XFER(xfer_write(fd, b, n), REAL(write)(fd, b, n)) }
ssize_t pread(int fd, void *b, size_t n, off_t o) { XFER(xfer_read(fd, b, n), REAL(pread)(fd, b, n, o)) }
ssize_t pwrite(int fd, const void *b, size_t n, off_t o) { XFER(xfer_write(fd, b, n), REAL(pwrite)(fd, b, n, o)) }
ssize_t pread64(int fd, void *b, size_t n, off64_t o) { XFER(xfer_read(fd, b, n), REAL(pread64)(fd, b, n, o)) }
ssize_t pwrite64(int fd, const void *b, size_t n, off64_t o) { XFER(xfer_write(fd, b, n), REAL(pwrite64)(fd, b, n, o)) }
