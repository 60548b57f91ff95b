// Human-readable `ringbeat status`: nodes with their links, media with their
// counters and drops by reason. Plain text, fits an 80-column serial console.

import type { StatusReport } from './status-data';

function ago(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return 'never';
  if (ms < 1000) return `${Math.round(ms)}ms ago`;
  return `${(ms / 1000).toFixed(1)}s ago`;
}

function dur(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
}

export function printStatus(s: StatusReport): string {
  const out: string[] = [];
  const c = s.comm;
  out.push(`ringbeat ${s.version}  node ${s.node}  cluster ${s.cluster}  pid ${s.pid}`);
  out.push(
    `timing: keepalive ${dur(s.timing.keepaliveMs)}  warntime ${dur(s.timing.warntimeMs)}  deadtime ${dur(s.timing.deadtimeMs)}  initdead ${dur(s.timing.initdeadMs)}`,
  );
  const r = s.resources;
  if (r) {
    out.push(
      `resources (${r.mode}, auto_failback ${r.autoFailback}): state ${r.state}, holding ${r.holds}, peer holds ${r.otherHolds}${r.otherStable ? '' : ' (peer in flux)'}${r.standby !== 'not' ? `, standby ${r.standby}` : ''}${r.busy ? ', busy' : ''}`,
    );
    for (const g of r.groups) out.push(`  ${g.key.padEnd(40)} ${g.node.padEnd(12)} ${g.state}${g.error ? `: ${g.error}` : ''}`);
  }
  if (!c) {
    out.push('heartbeat path: NOT RESPONDING');
    return out.join('\n') + '\n';
  }
  out.push(`local state ${c.localState}  generation ${c.generation.toString(16)}  up ${(c.uptimeMs / 1000).toFixed(1)}s`);
  out.push('');
  out.push('nodes:');
  for (const n of c.nodes) {
    const extra = n.self ? '(this node)' : `last heard ${ago(n.lastHeardAgoMs)}, late ${n.lateHeartbeats}, deaths ${n.deaths}, restarts ${n.restarts}`;
    out.push(`  ${n.name.padEnd(16)} ${n.state.padEnd(7)} ${extra}`);
    if (n.heardOnlyBy) out.push(`      LINK PROBLEM: not heard here, but heard by ${n.heardOnlyBy.join(', ')}`);
    for (const l of n.links) out.push(`      ${l.name.padEnd(24)} ${l.state.padEnd(5)} ${ago(l.lastHeardAgoMs)}`);
  }
  out.push('');
  out.push('media:');
  for (const m of c.media) {
    out.push(
      `  ${m.name.padEnd(24)} ${m.kind.padEnd(6)} ${m.state.padEnd(8)} in ${m.framesIn} out ${m.framesOut} tx-dropped ${m.txDropped}${m.lastError ? `  last error: ${m.lastError}` : ''}`,
    );
    if (m.kind === 'serial') {
      out.push(`      relayed ${m.relayed ?? 0}, relay dropped ${m.relayDropped ?? 0}, line utilisation ${((m.lineUtilisation ?? 0) * 100).toFixed(1)}%`);
    }
    const drops = Object.entries(m.drops).filter(([, n]) => (n ?? 0) > 0);
    if (drops.length) out.push(`      dropped: ${drops.map(([r, n]) => `${r} ${n}`).join(', ')}`);
  }
  out.push('');
  out.push(
    `sent: ${c.tx.messages} messages (${c.tx.statuses} status), rexmit requests ${c.tx.rexmitRequests}, rexmits ${c.tx.rexmitsSent}, naks ${c.tx.naksSent}, acks ${c.tx.acksSent}, cross-checks ${c.tx.crossChecks}`,
  );
  out.push(`heartbeat path lateness: worst keepalive tick ${c.stalls.maxTickLateMs.toFixed(1)}ms; stalls over 50ms: ${c.stalls.count}${c.stalls.count ? `, worst ${c.stalls.maxLateMs.toFixed(1)}ms` : ''}`);
  return out.join('\n') + '\n';
}
