// The effective configuration in ha.cf syntax (`ringbeat check --print`):
// one directive per line, defaults filled in, and a comment saying where each
// value came from (file:line or "default"). Times are written the way
// Heartbeat also reads them (plain seconds or `ms`), so the output is a valid
// ha.cf for both. authkeys follows as comments, with every key masked.

import type { ClusterConfig, SourceRef } from './config-data';
import { formatHacfTime } from './duration';

const COMMENT_COLUMN = 40;
const MASK = '********';

function where(ref: SourceRef | undefined): string {
  return ref ? `${ref.file}:${ref.line}` : 'default';
}

function row(text: string, origin: string): string {
  return `${text.padEnd(COMMENT_COLUMN - 1)} # ${origin}`;
}

export function printConfig(c: ClusterConfig): string {
  const src = c.sources;
  const out: string[] = [];
  const put = (directive: string, value: string | number, origin = where(src[directive])): void => {
    out.push(row(`${directive} ${value}`, origin));
  };

  out.push('# ringbeat effective configuration');
  out.push(`# ha.cf: ${c.file}`);
  out.push(`# this node: ${c.localNode}${c.localNodeSource ? ` (from ${c.localNodeSource})` : ''}`);

  put('cluster', c.cluster);
  c.nodes.forEach((n, i) => put('node', n, where(c.nodeSources?.[i])));

  put('keepalive', formatHacfTime(c.keepaliveMs));
  put('deadtime', formatHacfTime(c.deadtimeMs));
  put('warntime', formatHacfTime(c.warntimeMs), src.warntime ? where(src.warntime) : 'default (deadtime / 2)');
  put('initdead', formatHacfTime(c.initdeadMs), src.initdead ? where(src.initdead) : 'default (derived from deadtime)');
  put('hopfudge', c.hopfudge);
  put('udpport', c.udpport);
  put('baud', c.baud);

  for (const m of c.media) {
    switch (m.kind) {
      case 'serial':
        put('serial', m.device, `${where(m.at)} (${m.baud} baud)`);
        break;
      case 'bcast':
        put('bcast', m.iface, `${where(m.at)} (udp port ${m.port})`);
        break;
      case 'ucast':
        put('ucast', `${m.iface} ${m.peer}`, `${where(m.at)} (udp port ${m.port})`);
        break;
      case 'mcast':
        put('mcast', `${m.iface} ${m.group} ${m.port} ${m.ttl} ${m.loop ? 1 : 0}`, where(m.at));
        break;
    }
  }

  const failbackOrigin = src.auto_failback
    ? where(src.auto_failback)
    : src.nice_failback
      ? `${where(src.nice_failback)} (from nice_failback)`
      : 'default';
  put('auto_failback', c.autoFailback, failbackOrigin);
  put('msgfmt', c.msgfmt);
  put('max_rexmit_delay', `${c.maxRexmitDelayMs}ms`);
  put('hbgenmethod', c.genMethod);
  put('realtime', c.realtime ? 'on' : 'off');
  put('rtprio', c.rtPrio);
  put('compression', c.compression, `${where(src.compression)} (ringbeat never compresses)`);
  put('compression_threshold', c.compressionThresholdKb);
  put('traditional_compression', 'no');
  put('log_badpack', c.logBadPackets ? 'yes' : 'no');

  if (c.log.logfile !== undefined) put('logfile', c.log.logfile);
  else out.push('# logfile not set');
  if (c.log.debugfile !== undefined) put('debugfile', c.log.debugfile);
  else out.push('# debugfile not set');
  put('logfacility', c.log.facility ?? 'none');
  put('debug', c.log.debugLevel);
  put('use_logd', 'no');
  if (src.crm && !src.pacemaker) put('crm', 'no');
  else put('pacemaker', 'no');
  put('autojoin', 'none');
  put('uuidfrom', 'file');
  put('crosscheck_wait', `${c.crossCheckWaitMs}ms`, `${where(src.crosscheck_wait)} (ringbeat only)`);
  put('garp_count', c.announce.count, `${where(src.garp_count)} (ringbeat only)`);
  put('garp_interval', `${c.announce.intervalMs}ms`, `${where(src.garp_interval)} (ringbeat only)`);
  put('garp_mode', c.announce.mode, `${where(src.garp_mode)} (ringbeat only)`);
  put('garp_refresh', `${c.announce.refreshMs}ms`, `${where(src.garp_refresh)} (ringbeat only)`);
  put('na_router', c.announce.router ? 'on' : 'off', `${where(src.na_router)} (ringbeat only)`);

  out.push('#');
  out.push(`# authkeys${c.auth.file ? ` (${c.auth.file})` : ''}, keys masked:`);
  out.push(row(`#   auth ${c.auth.outbound}`, where(c.auth.outboundAt)));
  for (const k of c.auth.keys) {
    out.push(row(`#   ${k.index} ${k.method}${k.key === undefined ? '' : ` ${MASK}`}`, where(k.at)));
  }
  return out.join('\n') + '\n';
}
