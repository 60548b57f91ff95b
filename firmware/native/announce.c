/*
 * ringbeat-announce: tell the LAN that an address has moved to this host.
 *
 *   IPv4: gratuitous ARP, as request (sender = target = IP, target MAC 0) and/or
 *         reply (sender = target = IP, target MAC = own MAC), both to the
 *         Ethernet broadcast address. Some switches and hosts honour only one
 *         form, so the default sends both, like Heartbeat's send_arp.
 *   IPv6: unsolicited neighbour advertisements to ff02::1 with the Override
 *         flag (and Router if -R), carrying the target link-layer option.
 *
 * Node.js cannot open AF_PACKET or raw ICMPv6 sockets, hence this small tool.
 * Needs CAP_NET_RAW (root). One line per packet sent goes to stdout, with the
 * CLOCK_MONOTONIC time right after sendto() returned, so callers and
 * benchmarks can see exactly when the first announcement left:
 *
 *   sent seq=1 kind=arp-request ip=10.99.0.100 dev=eth0 mac=02:..:.. mono_ns=123456789
 *
 * Exit: 0 all sent, 1 runtime error (message on stderr), 2 usage error.
 * The first packet goes out immediately; the rest follow on an absolute
 * CLOCK_MONOTONIC schedule (no drift). The tool dies with its parent
 * (PR_SET_PDEATHSIG) so a killed daemon never keeps claiming an address.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_BOTH, MODE_REQUEST, MODE_REPLY };

struct opts {
	const char *ifname;
	const char *ip;
	int family; /* 4 or 6 */
	long count;
	long interval_ms;
	enum mode mode;
	int router;
};

struct target {
	int ifindex;
	unsigned char mac[6];
	char mac_text[18];
	struct in_addr ip4;
	struct in6_addr ip6;
};

static void die(const char *what, int err)
{
	if (err)
		fprintf(stderr, "ringbeat-announce: %s: %s\n", what, strerror(err));
	else
		fprintf(stderr, "ringbeat-announce: %s\n", what);
	exit(1);
}

static void usage(const char *msg)
{
	fprintf(stderr,
		"ringbeat-announce: %s\n"
		"usage: ringbeat-announce -i IFACE (-4 IPV4 | -6 IPV6) [-c COUNT] [-w INTERVAL_MS]\n"
		"                         [-m both|request|reply] [-R]\n"
		"  -c  announcements to send (default 5; with -m both each is a request+reply pair)\n"
		"  -w  interval between announcements in ms (default 200)\n"
		"  -m  IPv4 ARP form (default both)   -R  set the Router flag (IPv6)\n",
		msg);
	exit(2);
}

static long parse_long(const char *s, long min, long max, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max) {
		char msg[128];
		snprintf(msg, sizeof msg, "bad %s '%s' (%ld..%ld)", what, s, min, max);
		usage(msg);
	}
	return v;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	int c;
	o->count = 5;
	o->interval_ms = 200;
	o->mode = MODE_BOTH;
	while ((c = getopt(argc, argv, "i:4:6:c:w:m:Rh")) != -1) {
		switch (c) {
		case 'i': o->ifname = optarg; break;
		case '4': o->ip = optarg; o->family = 4; break;
		case '6': o->ip = optarg; o->family = 6; break;
		case 'c': o->count = parse_long(optarg, 1, 1000, "count"); break;
		case 'w': o->interval_ms = parse_long(optarg, 0, 60000, "interval"); break;
		case 'R': o->router = 1; break;
		case 'm':
			if (strcmp(optarg, "both") == 0) o->mode = MODE_BOTH;
			else if (strcmp(optarg, "request") == 0) o->mode = MODE_REQUEST;
			else if (strcmp(optarg, "reply") == 0) o->mode = MODE_REPLY;
			else usage("bad -m (both|request|reply)");
			break;
		default: usage("bad option");
		}
	}
	if (optind != argc) usage("unexpected argument");
	if (!o->ifname || !o->ip) usage("need -i and -4 or -6");
	if (strlen(o->ifname) >= IFNAMSIZ) usage("interface name too long");
}

/* Interface index, MAC and up-state, via a throwaway datagram socket. */
static void resolve(const struct opts *o, struct target *t)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) die("socket", errno);
	memset(&ifr, 0, sizeof ifr);
	strncpy(ifr.ifr_name, o->ifname, IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) die(o->ifname, errno);
	t->ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) die(o->ifname, errno);
	if (!(ifr.ifr_flags & IFF_UP)) die("interface is down", 0);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) die(o->ifname, errno);
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) die("not an Ethernet interface", 0);
	memcpy(t->mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	snprintf(t->mac_text, sizeof t->mac_text, "%02x:%02x:%02x:%02x:%02x:%02x", t->mac[0], t->mac[1],
		 t->mac[2], t->mac[3], t->mac[4], t->mac[5]);
	if (o->family == 4 ? inet_pton(AF_INET, o->ip, &t->ip4) != 1 : inet_pton(AF_INET6, o->ip, &t->ip6) != 1)
		usage("bad IP address");
}

static long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void report(int seq, const char *kind, const struct opts *o, const struct target *t)
{
	/* Taken right after sendto() returned: the frame is on its way. */
	long long now = mono_ns();
	printf("sent seq=%d kind=%s ip=%s dev=%s mac=%s mono_ns=%lld\n", seq, kind, o->ip, o->ifname, t->mac_text,
	       now);
	fflush(stdout);
}

/* --- IPv4: gratuitous ARP over a packet socket (the kernel adds the Ethernet header) --- */

struct arp_ipv4 {
	struct arphdr h;
	unsigned char sha[6];
	unsigned char spa[4];
	unsigned char tha[6];
	unsigned char tpa[4];
} __attribute__((packed));

static int arp_socket(const struct target *t, struct sockaddr_ll *to)
{
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP));
	if (fd < 0) die("packet socket (needs CAP_NET_RAW)", errno);
	/* We only send: a zero-length receive queue keeps ARP traffic out of our buffer. */
	int zero = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &zero, sizeof zero);
	memset(to, 0, sizeof *to);
	to->sll_family = AF_PACKET;
	to->sll_protocol = htons(ETH_P_ARP);
	to->sll_ifindex = t->ifindex;
	to->sll_halen = 6;
	memset(to->sll_addr, 0xff, 6);
	return fd;
}

static void send_arp(int fd, const struct sockaddr_ll *to, const struct target *t, int reply)
{
	struct arp_ipv4 p;
	p.h.ar_hrd = htons(ARPHRD_ETHER);
	p.h.ar_pro = htons(ETH_P_IP);
	p.h.ar_hln = 6;
	p.h.ar_pln = 4;
	p.h.ar_op = htons(reply ? ARPOP_REPLY : ARPOP_REQUEST);
	memcpy(p.sha, t->mac, 6);
	memcpy(p.spa, &t->ip4, 4);
	/* A reply counts as gratuitous for Linux only if target MAC == sender MAC. */
	if (reply) memcpy(p.tha, t->mac, 6);
	else memset(p.tha, 0, 6);
	memcpy(p.tpa, &t->ip4, 4);
	if (sendto(fd, &p, sizeof p, 0, (const struct sockaddr *)to, sizeof *to) != (ssize_t)sizeof p)
		die("sendto (ARP)", errno);
}

/* --- IPv6: unsolicited neighbour advertisement over a raw ICMPv6 socket --- */

struct na_packet {
	struct nd_neighbor_advert na;
	struct nd_opt_hdr opt;
	unsigned char mac[6];
} __attribute__((packed));

static int na_socket(const struct opts *o, const struct target *t, struct sockaddr_in6 *to)
{
	int fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (fd < 0) die("ICMPv6 socket (needs CAP_NET_RAW)", errno);
	int hops = 255; /* receivers drop ND messages with any other hop limit (RFC 4861 7.1.2) */
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops) < 0)
		die("setsockopt hop limit", errno);
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &t->ifindex, sizeof t->ifindex) < 0)
		die("setsockopt IPV6_MULTICAST_IF", errno);
	int loop = 0;
	(void)setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof loop);
	struct icmp6_filter f; /* send only: receive nothing */
	ICMP6_FILTER_SETBLOCKALL(&f);
	(void)setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof f);
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->ifname, strlen(o->ifname)) < 0)
		die("SO_BINDTODEVICE", errno);
	/* The source must be the address itself; bind fails while it is still tentative (DAD). */
	struct sockaddr_in6 src;
	memset(&src, 0, sizeof src);
	src.sin6_family = AF_INET6;
	src.sin6_addr = t->ip6;
	if (IN6_IS_ADDR_LINKLOCAL(&t->ip6)) src.sin6_scope_id = t->ifindex;
	if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0)
		die(errno == EADDRNOTAVAIL ? "bind to the address (not on the interface, or still tentative)" : "bind",
		    errno);
	memset(to, 0, sizeof *to);
	to->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "ff02::1", &to->sin6_addr);
	to->sin6_scope_id = t->ifindex;
	return fd;
}

static void send_na(int fd, const struct sockaddr_in6 *to, const struct target *t, int router)
{
	struct na_packet p;
	memset(&p, 0, sizeof p);
	p.na.nd_na_type = ND_NEIGHBOR_ADVERT;
	p.na.nd_na_code = 0;
	p.na.nd_na_cksum = 0; /* the kernel fills in the ICMPv6 checksum for raw ICMPv6 sockets */
	p.na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE | (router ? ND_NA_FLAG_ROUTER : 0);
	p.na.nd_na_target = t->ip6;
	p.opt.nd_opt_type = ND_OPT_TARGET_LINKADDR;
	p.opt.nd_opt_len = 1; /* units of 8 octets */
	memcpy(p.mac, t->mac, 6);
	if (sendto(fd, &p, sizeof p, 0, (const struct sockaddr *)to, sizeof *to) != (ssize_t)sizeof p)
		die("sendto (NA)", errno);
}

/* Sleeps until `start + offset_ns` on CLOCK_MONOTONIC (absolute: no drift). */
static void sleep_until(long long start, long long offset_ns)
{
	long long when = start + offset_ns;
	struct timespec ts = { .tv_sec = when / 1000000000LL, .tv_nsec = when % 1000000000LL };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	struct target t;
	memset(&o, 0, sizeof o);
	memset(&t, 0, sizeof t);

	pid_t parent = getppid();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent) return 1; /* parent died before prctl took effect */

	parse_args(argc, argv, &o);
	resolve(&o, &t);

	long long step = o.interval_ms * 1000000LL;
	long long start;
	int seq = 0;
	if (o.family == 4) {
		struct sockaddr_ll to;
		int fd = arp_socket(&t, &to);
		start = mono_ns();
		for (long i = 0; i < o.count; i++) {
			if (i > 0) sleep_until(start, i * step);
			if (o.mode != MODE_REPLY) {
				send_arp(fd, &to, &t, 0);
				report(++seq, "arp-request", &o, &t);
			}
			if (o.mode == MODE_BOTH) sleep_until(start, i * step + step / 2);
			if (o.mode != MODE_REQUEST) {
				send_arp(fd, &to, &t, 1);
				report(++seq, "arp-reply", &o, &t);
			}
		}
		close(fd);
	} else {
		struct sockaddr_in6 to;
		int fd = na_socket(&o, &t, &to);
		start = mono_ns();
		for (long i = 0; i < o.count; i++) {
			if (i > 0) sleep_until(start, i * step);
			send_na(fd, &to, &t, o.router);
			report(++seq, o.router ? "na-router" : "na", &o, &t);
		}
		close(fd);
	}
	return 0;
}
