// The lab's service: answers every UDP datagram on port 7777 with this node's
// name and the request's sequence number. It runs on both nodes all the time,
// bound to the wildcard address: clients reach it through the VIP, so only
// the node that holds the VIP serves them (as with an application that
// listens on all addresses).
//   node responder.mjs <node-name> [port]
import dgram from 'node:dgram';

const [name = 'node', port = '7777'] = process.argv.slice(2);
for (const family of ['udp4', 'udp6']) {
  const s = dgram.createSocket({ type: family, ipv6Only: family === 'udp6' });
  s.on('message', (msg, rinfo) => s.send(`${name} ${msg.toString().trim()}`, rinfo.port, rinfo.address));
  s.on('error', (e) => {
    // No IPv6 in this namespace: serve IPv4 only.
    if (family === 'udp6') s.close();
    else throw e;
  });
  s.bind(Number(port), family === 'udp4' ? '0.0.0.0' : '::');
}
