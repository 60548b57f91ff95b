// The observers' own message reader (no root needed).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { peekMessage } from './wire-peek';

const ns = (fields: string[], trailer = '1 0123abcd'): Buffer =>
  Buffer.from(`###\n${fields.map((f) => `${Buffer.byteLength(f, 'latin1')}:${f},`).join('')}%%%\n${trailer.length}:${trailer},`, 'latin1');

test('netstring datagram as Heartbeat 3.0.6 sends it: (T) prefixes, first occurrence wins', () => {
  const m = peekMessage(ns(['(0)t=stonith', '(0)node=nodea', '(0)result=unneeded', '(0)src=nodeb', '(1)srcuuid=\x01\x02,:', '(0)seq=a3', '(0)node=other']));
  assert.ok(m);
  assert.equal(m.format, 'netstring');
  assert.equal(m.fields.get('t'), 'stonith');
  assert.equal(m.fields.get('node'), 'nodea');
  assert.equal(m.fields.get('srcuuid'), '\x01\x02,:', 'binary values with , and : inside are length-delimited');
  assert.equal(m.fields.get('seq'), 'a3');
});

test('classic frame (serial, or UDP with a trailing NUL)', () => {
  const m = peekMessage(Buffer.from('>>>\nt=status\nst=active\ndt=fa0\nsrc=nodea\n<<<\n\0'));
  assert.ok(m);
  assert.equal(m.format, 'classic');
  assert.equal(m.fields.get('dt'), 'fa0');
  assert.equal(m.fields.get('src'), 'nodea');
});

test('garbage and truncated messages are not messages', () => {
  assert.equal(peekMessage(Buffer.from('hello')), undefined);
  assert.equal(peekMessage(ns(['(0)t=status']).subarray(0, 10)), undefined);
  assert.equal(peekMessage(Buffer.from('###\n99:(0)t=x,%%%\n')), undefined);
  assert.equal(peekMessage(Buffer.from('>>>\nt=status\n')), undefined);
});
