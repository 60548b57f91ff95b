import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bytesToIpv6,
  ipArgument,
  ipv4Broadcast,
  ipv4InSubnet,
  ipv4Network,
  ipv6InPrefix,
  ipv6ToBytes,
  maskToPrefix,
  normalizeIpv6,
  parseIpSpec,
  type IpSpec,
} from './ip-spec';

function spec(raw: string): IpSpec {
  const r = parseIpSpec(raw);
  if (!r.ok) throw new Error(r.error);
  return r.spec;
}
function error(raw: string): string {
  const r = parseIpSpec(raw);
  assert.equal(r.ok, false, `${raw} should be refused`);
  return r.ok ? '' : r.error;
}

test('ip[/bits[/iface[/broadcast]]] as the IPaddr2 wrapper splits it', () => {
  assert.deepEqual(spec('10.99.0.100'), { family: 4, address: '10.99.0.100', raw: '10.99.0.100' });
  assert.deepEqual(spec('10.99.0.100/24'), { family: 4, address: '10.99.0.100', prefixLen: 24, raw: '10.99.0.100/24' });
  assert.deepEqual(spec('10.99.0.100/24/eth0'), { family: 4, address: '10.99.0.100', prefixLen: 24, iface: 'eth0', raw: '10.99.0.100/24/eth0' });
  assert.deepEqual(spec('10.99.0.100/24/eth0/10.99.0.255'), {
    family: 4, address: '10.99.0.100', prefixLen: 24, iface: 'eth0', broadcast: '10.99.0.255', raw: '10.99.0.100/24/eth0/10.99.0.255',
  });
});

test('a third field starting with a digit is the broadcast (no interface)', () => {
  const s = spec('10.99.0.100/24/10.99.0.255');
  assert.equal(s.iface, undefined);
  assert.equal(s.broadcast, '10.99.0.255');
  assert.match(error('10.99.0.100/24/10.99.0.255/eth0'), /looks like a broadcast/);
});

test('dotted netmask, iface:label, + and - broadcast, empty fields', () => {
  assert.equal(spec('10.0.0.5/255.255.255.0').prefixLen, 24);
  assert.equal(spec('10.0.0.5/255.255.0.0/eth1').prefixLen, 16);
  const l = spec('10.0.0.5/24/eth0:web');
  assert.equal(l.iface, 'eth0');
  assert.equal(l.label, 'web');
  assert.equal(spec('10.0.0.5/24/eth0/+').broadcast, '+');
  assert.equal(spec('10.0.0.5/24/eth0/-').broadcast, '-');
  assert.deepEqual(spec('10.0.0.5//eth0'), { family: 4, address: '10.0.0.5', iface: 'eth0', raw: '10.0.0.5//eth0' });
});

test('refusals name the problem', () => {
  assert.match(error('10.0.0.256'), /not an IPv4 or IPv6 address/);
  assert.match(error('host.example'), /not an IPv4 or IPv6 address/);
  assert.match(error('10.0.0.5/0'), /out of range 1\.\.32/);
  assert.match(error('10.0.0.5/33'), /out of range 1\.\.32/);
  assert.match(error('10.0.0.5/255.0.255.0'), /not a contiguous mask/);
  assert.match(error('10.0.0.5/24x'), /bad netmask/);
  assert.match(error('10.0.0.5/24/eth 0'), /bad interface name/);
  assert.match(error('10.0.0.5/24/averyveryverylongname'), /bad interface name/);
  assert.match(error('10.0.0.5/24/eth0:a:b'), /bad interface name/);
  assert.match(error('10.0.0.5/24/eth0:toolonglabel1'), /bad label/);
  assert.match(error('10.0.0.5/24/eth0/10.0.0.999'), /bad broadcast/);
  assert.match(error('10.0.0.5/24/eth0/10.0.0.255/x'), /too many '\/' fields/);
});

test('IPv6: canonical address, prefix up to 128, no labels or broadcast', () => {
  const s = spec(ipArgument(['fd00', '100/64/eth0']));
  assert.deepEqual(s, { family: 6, address: 'fd00::100', prefixLen: 64, iface: 'eth0', raw: 'fd00::100/64/eth0' });
  assert.equal(spec('FD00:0:0:0:0:0:0:0100/128').address, 'fd00::100');
  assert.match(error('fd00::1/129'), /1\.\.128/);
  assert.match(error('fd00::1/64/eth0:1'), /IPv4 only/);
  assert.match(error('fd00::1/64/eth0/fd00::ff'), /no broadcast/);
  assert.match(error('fd00::1/255.255.255.0'), /bad netmask/);
});

test('IPv4 arithmetic', () => {
  assert.equal(maskToPrefix('255.255.255.128'), 25);
  assert.equal(maskToPrefix('255.255.255.255'), 32);
  assert.equal(maskToPrefix('0.0.0.0'), 0);
  assert.equal(maskToPrefix('255.0.255.0'), undefined);
  assert.equal(ipv4Broadcast('10.99.0.100', 24), '10.99.0.255');
  assert.equal(ipv4Broadcast('192.168.1.70', 26), '192.168.1.127');
  assert.equal(ipv4Broadcast('10.0.0.1', 8), '10.255.255.255');
  assert.equal(ipv4Broadcast('10.0.0.1', 31), undefined);
  assert.equal(ipv4Broadcast('10.0.0.1', 32), undefined);
  assert.equal(ipv4Network('192.168.1.70', 26), '192.168.1.64');
  assert.equal(ipv4InSubnet('10.99.0.100', '10.99.0.1', 24), true);
  assert.equal(ipv4InSubnet('10.99.1.100', '10.99.0.1', 24), false);
  assert.equal(ipv4InSubnet('10.99.1.100', '10.99.0.1', 16), true);
});

test('IPv6 arithmetic: RFC 5952 text and prefix match', () => {
  assert.equal(normalizeIpv6('2001:DB8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(normalizeIpv6('2001:db8:0:0:0:0:2:1'), '2001:db8::2:1');
  assert.equal(normalizeIpv6('2001:db8::0:1'), '2001:db8::1');
  assert.equal(normalizeIpv6('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1'); // a single zero group is not compressed
  assert.equal(normalizeIpv6('::'), '::');
  assert.equal(normalizeIpv6('::1'), '::1');
  assert.equal(normalizeIpv6('fe80::'), 'fe80::');
  assert.equal(normalizeIpv6('::ffff:10.0.0.1'), '::ffff:a00:1');
  assert.equal(normalizeIpv6('nope'), undefined);
  assert.equal(bytesToIpv6(ipv6ToBytes('fd00:99::1')!), 'fd00:99::1');
  assert.equal(ipv6InPrefix('fd00:99::100', 'fd00:99::1', 64), true);
  assert.equal(ipv6InPrefix('fd00:98::100', 'fd00:99::1', 64), false);
  assert.equal(ipv6InPrefix('fd00:98::100', 'fd00:99::1', 15), true);
  assert.equal(ipv6InPrefix('fe80::1', 'fe80::', 10), true);
});
