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
 * With -a PREFIXLEN (IPv4 only) the tool first ADDS the address to the
 * interface itself, over rtnetlink (what `ip -4 addr add IP/PREFIXLEN [brd B]
 * dev IF [label L]` does), then announces at once: the takeover costs one
 * process spawn instead of two `ip` calls plus the announcer. Before adding it
 * checks the interface (exists, up, Ethernet) and whether the address is
 * already on it (any prefix: adding it again with another prefix would give
 * the interface two entries), and reports one line before the first ARP:
 *
 *   added ip=10.99.0.100 prefix=24 brd=10.99.0.255 label=eth0:0 dev=eth0 mono_ns=123456000
 *   exists ip=10.99.0.100 prefix=32 brd=- label=eth0 dev=eth0 mono_ns=123456000
 *
 * (`exists`: nothing changed, the address is announced as it is; brd and the
 * label are what the interface has.) -b BROADCAST and -l LABEL are optional;
 * a label must be the interface name or start with "IFACE:", as `ip` demands.
 *
 * Exit: 0 all sent, 1 runtime error (message on stderr), 2 usage error;
 * with -a also 3 = the address could not be added (rtnetlink error, e.g.
 * EPERM) and 4 = the interface is missing, down or not Ethernet. With 3 and 4
 * nothing was changed and no `added` line was printed.
 * The first packet goes out immediately; the rest follow on an absolute
 * CLOCK_MONOTONIC schedule (no drift). The tool dies with its parent
 * (PR_SET_PDEATHSIG) so a killed daemon never keeps claiming an address.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
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

/* Exit codes (see the header). */
enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_ADD = 3, EXIT_IFACE = 4 };

struct opts {
	const char *ifname;
	const char *ip;
	int family; /* 4 or 6 */
	long count;
	long interval_ms;
	enum mode mode;
	int router;
	long add_prefix; /* -a: add the address first (IPv4); -1 = do not add */
	const char *broadcast; /* -b */
	struct in_addr brd;
	const char *label; /* -l */
};

struct target {
	int ifindex;
	unsigned char mac[6];
	char mac_text[18];
	struct in_addr ip4;
	struct in6_addr ip6;
};

static void die_code(int code, const char *what, int err)
{
	if (err)
		fprintf(stderr, "ringbeat-announce: %s: %s\n", what, strerror(err));
	else
		fprintf(stderr, "ringbeat-announce: %s\n", what);
	exit(code);
}

static void die(const char *what, int err)
{
	die_code(EXIT_RUNTIME, what, err);
}

static void usage(const char *msg)
{
	fprintf(stderr,
		"ringbeat-announce: %s\n"
		"usage: ringbeat-announce -i IFACE (-4 IPV4 | -6 IPV6) [-c COUNT] [-w INTERVAL_MS]\n"
		"                         [-m both|request|reply] [-R]\n"
		"                         [-a PREFIXLEN [-b BROADCAST] [-l LABEL]]\n"
		"  -c  announcements to send (default 5; with -m both each is a request+reply pair)\n"
		"  -w  interval between announcements in ms (default 200)\n"
		"  -m  IPv4 ARP form (default both)   -R  set the Router flag (IPv6)\n"
		"  -a  add the IPv4 address (IP/PREFIXLEN) first, -b with this broadcast, -l this label\n",
		msg);
	exit(EXIT_USAGE);
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
	o->add_prefix = -1;
	while ((c = getopt(argc, argv, "i:4:6:c:w:m:Ra:b:l:h")) != -1) {
		switch (c) {
		case 'i': o->ifname = optarg; break;
		case '4': o->ip = optarg; o->family = 4; break;
		case '6': o->ip = optarg; o->family = 6; break;
		case 'c': o->count = parse_long(optarg, 1, 1000, "count"); break;
		case 'w': o->interval_ms = parse_long(optarg, 0, 60000, "interval"); break;
		case 'R': o->router = 1; break;
		case 'a': o->add_prefix = parse_long(optarg, 0, 32, "prefix length"); break;
		case 'b': o->broadcast = optarg; break;
		case 'l': o->label = optarg; break;
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
	if (o->add_prefix < 0 && (o->broadcast || o->label)) usage("-b and -l need -a");
	if (o->add_prefix >= 0 && o->family != 4) usage("-a adds IPv4 addresses only");
	if (o->broadcast && inet_pton(AF_INET, o->broadcast, &o->brd) != 1) usage("bad -b broadcast address");
	if (o->label) {
		/* The rule `ip` enforces: the interface name itself, or "IFACE:something". */
		size_t n = strlen(o->ifname);
		if (strlen(o->label) >= IFNAMSIZ) usage("label too long (15 characters max)");
		if (strncmp(o->label, o->ifname, n) != 0 || (o->label[n] != '\0' && o->label[n] != ':'))
			usage("label must be IFACE or start with IFACE:");
	}
}

/*
 * Interface index, MAC and up-state, via a throwaway datagram socket. With -a
 * a problem here exits EXIT_IFACE: nothing has been changed yet, and the
 * caller's picture of the interfaces was wrong (renamed, gone, down).
 */
static void resolve(const struct opts *o, struct target *t)
{
	struct ifreq ifr;
	int code = o->add_prefix >= 0 ? EXIT_IFACE : EXIT_RUNTIME;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) die("socket", errno);
	memset(&ifr, 0, sizeof ifr);
	strncpy(ifr.ifr_name, o->ifname, IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) die_code(code, o->ifname, errno);
	t->ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) die_code(code, o->ifname, errno);
	if (!(ifr.ifr_flags & IFF_UP)) die_code(code, "interface is down", 0);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) die_code(code, o->ifname, errno);
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) die_code(code, "not an Ethernet interface", 0);
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

/* --- -a: add the IPv4 address over rtnetlink (what `ip addr add` does, minus a process) --- */

struct nl_req {
	struct nlmsghdr nh;
	struct ifaddrmsg ifa;
	char attrs[128]; /* IFA_LOCAL, IFA_ADDRESS, IFA_BROADCAST, IFA_LABEL: < 64 bytes */
};

/* What the interface already has for our address (the `exists` case). */
struct present {
	int found;
	int prefix;
	char brd[INET_ADDRSTRLEN];
	char label[IFNAMSIZ];
};

static void nl_attr(struct nl_req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static int nl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) die_code(EXIT_ADD, "netlink socket", errno);
	/* The kernel's own error text ("ipv4: ..."), and errors without our request echoed back. */
	int one = 1;
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
	struct sockaddr_nl sa;
	memset(&sa, 0, sizeof sa);
	sa.nl_family = AF_NETLINK;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die_code(EXIT_ADD, "netlink bind", errno);
	return fd;
}

static void nl_send(int fd, const struct nlmsghdr *nh)
{
	struct sockaddr_nl kernel;
	memset(&kernel, 0, sizeof kernel);
	kernel.nl_family = AF_NETLINK;
	if (sendto(fd, nh, nh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
		die_code(EXIT_ADD, "netlink send", errno);
}

/* The extended-ack message of an NLMSG_ERROR (NETLINK_CAP_ACK: right after struct nlmsgerr), or NULL. */
static const char *ext_ack_msg(const struct nlmsghdr *nh)
{
	if (!(nh->nlmsg_flags & NLM_F_ACK_TLVS)) return NULL;
	const char *p = (const char *)NLMSG_DATA(nh) + sizeof(struct nlmsgerr);
	const char *end = (const char *)nh + nh->nlmsg_len;
	while (p + NLA_HDRLEN <= end) {
		const struct nlattr *a = (const struct nlattr *)p;
		if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end) break;
		if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && a->nla_len > NLA_HDRLEN) {
			const char *msg = p + NLA_HDRLEN;
			return memchr(msg, '\0', a->nla_len - NLA_HDRLEN) ? msg : NULL;
		}
		p += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

/* One address of a RTM_NEWADDR dump: is it ours, on our interface? */
static void match_addr(const struct nlmsghdr *nh, const struct target *t, struct present *out)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	if (ifa->ifa_family != AF_INET || (int)ifa->ifa_index != t->ifindex) return;
	struct in_addr local = { 0 }, address = { 0 }, brd = { 0 };
	int has_local = 0, has_brd = 0;
	char label[IFNAMSIZ] = "";
	int len = IFA_PAYLOAD(nh);
	for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		size_t n = RTA_PAYLOAD(a);
		if (a->rta_type == IFA_LOCAL && n == 4) { memcpy(&local, RTA_DATA(a), 4); has_local = 1; }
		else if (a->rta_type == IFA_ADDRESS && n == 4) memcpy(&address, RTA_DATA(a), 4);
		else if (a->rta_type == IFA_BROADCAST && n == 4) { memcpy(&brd, RTA_DATA(a), 4); has_brd = 1; }
		else if (a->rta_type == IFA_LABEL && n > 0) snprintf(label, sizeof label, "%.*s", (int)n, (const char *)RTA_DATA(a));
	}
	/* IFA_LOCAL is the interface's own address; IFA_ADDRESS is it too unless point-to-point. */
	const struct in_addr *mine = has_local ? &local : &address;
	if (mine->s_addr != t->ip4.s_addr) return;
	out->found = 1;
	out->prefix = ifa->ifa_prefixlen;
	if (has_brd) inet_ntop(AF_INET, &brd, out->brd, sizeof out->brd);
	else strcpy(out->brd, "-");
	snprintf(out->label, sizeof out->label, "%s", label[0] ? label : "-");
}

/*
 * Reads the answers to request `seq`: a dump (until NLMSG_DONE) or an ack.
 * Returns 0 or the negative errno of an NLMSG_ERROR (its text in *msg).
 */
static int nl_recv(int fd, unsigned seq, const struct target *t, struct present *out, char *msg, size_t msgsz)
{
	static long buf[16384]; /* 128 KiB, long-aligned: a dump batch never truncates */
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) die_code(EXIT_ADD, "netlink receive", errno);
		int len = (int)n;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_seq != seq) continue;
			if (nh->nlmsg_type == NLMSG_DONE) return 0;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);
				const char *m = ext_ack_msg(nh);
				snprintf(msg, msgsz, "%s", m ? m : "");
				return e->error;
			}
			if (nh->nlmsg_type == RTM_NEWADDR && out) match_addr(nh, t, out);
		}
	}
}

/* Is our address already on the interface (any prefix)? */
static void find_present(int fd, unsigned seq, const struct target *t, struct present *out)
{
	struct nl_req r;
	memset(&r, 0, sizeof r);
	memset(out, 0, sizeof *out);
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof r.ifa);
	r.nh.nlmsg_type = RTM_GETADDR;
	r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	r.nh.nlmsg_seq = seq;
	r.ifa.ifa_family = AF_INET;
	nl_send(fd, &r.nh);
	char msg[256];
	int err = nl_recv(fd, seq, t, out, msg, sizeof msg);
	if (err) die_code(EXIT_ADD, "netlink address dump", -err);
}

static void report_addr(const char *what, const struct opts *o, long prefix, const char *brd, const char *label)
{
	printf("%s ip=%s prefix=%ld brd=%s label=%s dev=%s mono_ns=%lld\n", what, o->ip, prefix, brd, label, o->ifname,
	       mono_ns());
	fflush(stdout);
}

/*
 * RTM_NEWADDR with NLM_F_EXCL: the address, its prefix, broadcast and label,
 * as `ip -4 addr add` sends them. Already there (before, or added by someone
 * else in between: EEXIST) is fine and reported as `exists`; any other error
 * exits EXIT_ADD with nothing changed.
 */
static void add_address(const struct opts *o, const struct target *t)
{
	int fd = nl_open();
	struct present have;
	find_present(fd, 1, t, &have);
	if (!have.found) {
		struct nl_req r;
		memset(&r, 0, sizeof r);
		r.nh.nlmsg_len = NLMSG_LENGTH(sizeof r.ifa);
		r.nh.nlmsg_type = RTM_NEWADDR;
		r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
		r.nh.nlmsg_seq = 2;
		r.ifa.ifa_family = AF_INET;
		r.ifa.ifa_prefixlen = (unsigned char)o->add_prefix;
		r.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
		r.ifa.ifa_index = (unsigned)t->ifindex;
		nl_attr(&r, IFA_LOCAL, &t->ip4, 4);
		nl_attr(&r, IFA_ADDRESS, &t->ip4, 4);
		if (o->broadcast) nl_attr(&r, IFA_BROADCAST, &o->brd, 4);
		if (o->label) nl_attr(&r, IFA_LABEL, o->label, strlen(o->label) + 1);
		nl_send(fd, &r.nh);
		char msg[256];
		int err = nl_recv(fd, 2, t, NULL, msg, sizeof msg);
		if (err == 0) {
			close(fd);
			report_addr("added", o, o->add_prefix, o->broadcast ? o->broadcast : "-", o->label ? o->label : o->ifname);
			return;
		}
		if (err != -EEXIST) {
			char what[512];
			snprintf(what, sizeof what, "adding %s/%ld to %s%s%s", o->ip, o->add_prefix, o->ifname, msg[0] ? ": " : "", msg);
			die_code(EXIT_ADD, what, -err);
		}
		find_present(fd, 3, t, &have); /* added by someone else meanwhile: report what it is */
	}
	close(fd);
	if (!have.found) { /* EEXIST and gone again: report what we asked for */
		have.prefix = (int)o->add_prefix;
		snprintf(have.brd, sizeof have.brd, "%s", o->broadcast ? o->broadcast : "-");
		snprintf(have.label, sizeof have.label, "%s", o->label ? o->label : o->ifname);
	}
	report_addr("exists", o, have.prefix, have.brd, have.label);
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
		int fd = arp_socket(&t, &to); /* before the add: the first ARP follows it at once */
		if (o.add_prefix >= 0) add_address(&o, &t);
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
