import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findAddress, findInterface, nextFreeLabel, parseIpAddrJson, type IfInfo } from './findif';
import { parseIpSpec, type IpSpec } from './ip-spec';
import { ipJson } from './testing/fake-runner';

function spec(raw: string): IpSpec {
  const r = parseIpSpec(raw);
  if (!r.ok) throw new Error(r.error);
  return r.spec;
}

// Real `ip -j addr show` output (iproute2 6.1), trimmed.
const REAL = `[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"link_type":"loopback","address":"00:00:00:00:00:00","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host","label":"lo","valid_life_time":4294967295,"preferred_life_time":4294967295}]},{"ifindex":3,"link":"d1","ifname":"d0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"operstate":"UP","link_type":"ether","address":"12:c0:8a:85:e5:ba","broadcast":"ff:ff:ff:ff:ff:ff","addr_info":[{"family":"inet","local":"10.1.0.1","prefixlen":24,"broadcast":"10.1.0.255","scope":"global","label":"d0","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet","local":"10.1.0.100","prefixlen":24,"broadcast":"10.1.0.255","scope":"global","secondary":true,"label":"d0:0","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"fd00:1::100","prefixlen":64,"scope":"global","tentative":true,"valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"fe80::10c0:8aff:fe85:e5ba","prefixlen":64,"scope":"link","valid_life_time":4294967295,"preferred_life_time":4294967295}]}]`;

test('parseIpAddrJson reads real iproute2 output', () => {
  const ifs = parseIpAddrJson(REAL);
  assert.equal(ifs.length, 2);
  const d0 = ifs[1]!;
  assert.equal(d0.name, 'd0');
  assert.equal(d0.up, true);
  assert.equal(d0.mac, '12:c0:8a:85:e5:ba');
  assert.deepEqual(d0.addrs[1], {
    family: 4, address: '10.1.0.100', prefixLen: 24, broadcast: '10.1.0.255', label: 'd0:0', scope: 'global',
    secondary: true, tentative: false, dadfailed: false,
  });
  assert.equal(d0.addrs[2]!.tentative, true);
  assert.deepEqual(parseIpAddrJson(''), []);
  assert.deepEqual(parseIpAddrJson('[{}]'), []); // placeholders of links filtered out by -4/-6
  assert.throws(() => parseIpAddrJson('Error: nope'));
});

const LAB: IfInfo[] = parseIpAddrJson(
  ipJson([
    { name: 'lo', addrs: [{ family: 4, local: '127.0.0.1', prefixlen: 8, scope: 'host' }] },
    {
      name: 'eth0',
      addrs: [
        { family: 4, local: '10.99.0.1', prefixlen: 24, broadcast: '10.99.0.255', label: 'eth0' },
        { family: 6, local: 'fd00:99::1', prefixlen: 64 },
        { family: 6, local: 'fe80::1', prefixlen: 64, scope: 'link' },
      ],
    },
    { name: 'eth1', addrs: [{ family: 4, local: '10.0.0.1', prefixlen: 8, broadcast: '10.255.255.255' }] },
    { name: 'eth2', addrs: [{ family: 4, local: '10.5.0.1', prefixlen: 16, broadcast: '10.5.255.255' }] },
    { name: 'ipsec0', addrs: [{ family: 4, local: '10.99.0.2', prefixlen: 25 }] },
  ]),
);

test('findif: interface and prefix from the subnet that contains the address', () => {
  const r = findInterface(spec('10.99.0.100'), LAB);
  assert.ok(r.ok);
  assert.deepEqual(r.target, { family: 4, address: '10.99.0.100', iface: 'eth0', prefixLen: 24, broadcast: '10.99.0.255' });
  assert.match(r.how, /10\.99\.0\.1\/24 on eth0/);
});

test('findif: longest prefix wins; ipsecN is skipped (as findif does)', () => {
  const r = findInterface(spec('10.5.3.3'), LAB);
  assert.ok(r.ok);
  assert.equal(r.target.iface, 'eth2'); // /16 beats eth1's /8
  assert.equal(r.target.prefixLen, 16);
  assert.equal(r.target.broadcast, '10.5.255.255');
});

test('findif: a given prefix only matches subnets at least as wide; broadcast computed from it', () => {
  const r = findInterface(spec('10.5.3.3/28'), LAB);
  assert.ok(r.ok);
  assert.deepEqual(r.target, { family: 4, address: '10.5.3.3', iface: 'eth2', prefixLen: 28, broadcast: '10.5.3.15' });
  const wide = findInterface(spec('10.5.3.3/12'), LAB);
  assert.ok(wide.ok);
  assert.equal(wide.target.iface, 'eth1'); // eth2's /16 is narrower than /12
});

test('findif: a given interface restricts the search; missing prefix taken from it', () => {
  const r = findInterface(spec('10.5.3.3//eth1'), LAB);
  assert.ok(r.ok);
  assert.deepEqual(r.target, { family: 4, address: '10.5.3.3', iface: 'eth1', prefixLen: 8, broadcast: '10.255.255.255' });
});

test('findif: everything given needs no matching subnet; explicit, + and - broadcasts', () => {
  const r = findInterface(spec('192.168.7.7/24/eth1'), LAB);
  assert.ok(r.ok);
  assert.deepEqual(r.target, { family: 4, address: '192.168.7.7', iface: 'eth1', prefixLen: 24, broadcast: '192.168.7.255' });
  assert.equal((findInterface(spec('192.168.7.7/24/eth1/192.168.7.0'), LAB) as { target: { broadcast: string } }).target.broadcast, '192.168.7.0');
  assert.equal((findInterface(spec('192.168.7.7/24/eth1/-'), LAB) as { target: { broadcast: string } }).target.broadcast, '192.168.7.0');
  assert.equal((findInterface(spec('192.168.7.7/24/eth1/+'), LAB) as { target: { broadcast: string } }).target.broadcast, '192.168.7.255');
  const p2p = findInterface(spec('192.168.7.7/32/eth1'), LAB);
  assert.ok(p2p.ok);
  assert.equal(p2p.target.broadcast, undefined);
});

test('findif: failures say what to write', () => {
  const none = findInterface(spec('192.168.7.7'), LAB);
  assert.equal(none.ok, false);
  assert.match(!none.ok ? none.error : '', /cannot find the interface\/netmask for 192\.168\.7\.7: no IPv4 subnet on any interface contains it; give them in the resource \(ip\/bits\/iface\)/);
  const noIf = findInterface(spec('10.99.0.100/24/eth9'), LAB);
  assert.match(!noIf.ok ? noIf.error : '', /interface eth9 does not exist/);
  const ll = findInterface(spec('fe80::99/64'), LAB);
  assert.match(!ll.ok ? ll.error : '', /link-local .* needs an interface/);
});

test('findif IPv6: global prefix found, link-local subnets ignored for global addresses', () => {
  const r = findInterface(spec('fd00:99::100'), LAB);
  assert.ok(r.ok);
  assert.deepEqual(r.target, { family: 6, address: 'fd00:99::100', iface: 'eth0', prefixLen: 64 });
  assert.equal(findInterface(spec('fd00:98::100'), LAB).ok, false);
});

test('labels: first free IF:n; none when the name would pass 15 characters', () => {
  const ifs = parseIpAddrJson(
    ipJson([
      {
        name: 'eth0',
        addrs: [
          { family: 4, local: '10.0.0.1', prefixlen: 24, label: 'eth0' },
          { family: 4, local: '10.0.0.2', prefixlen: 24, label: 'eth0:0' },
          { family: 4, local: '10.0.0.3', prefixlen: 24, label: 'eth0:2' },
        ],
      },
      { name: 'verylongname12', addrs: [] },
    ]),
  );
  assert.equal(nextFreeLabel(ifs, 'eth0'), 'eth0:1');
  assert.equal(nextFreeLabel(ifs, 'eth9'), 'eth9:0');
  assert.equal(nextFreeLabel(ifs, 'verylongname12'), undefined);
});

test('findAddress: on the given interface only, or anywhere', () => {
  assert.equal(findAddress(LAB, 'eth0', '10.99.0.1')?.ifname, 'eth0');
  assert.equal(findAddress(LAB, 'eth1', '10.99.0.1'), undefined);
  assert.equal(findAddress(LAB, undefined, '10.0.0.1')?.ifname, 'eth1');
  assert.equal(findAddress(LAB, undefined, 'fd00:99::1')?.addr.prefixLen, 64);
});
