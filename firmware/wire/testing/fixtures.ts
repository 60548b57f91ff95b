// Byte-exact frames from the Heartbeat 3.0.6 lab captures (spec section 10),
// written out one field per line with the bytes rendered beside them, so a
// test failure can be read against the spec without a hex dump. The capture
// tests check that each of these occurs verbatim in its capture file.

import type { AuthConfig } from '../../config/config-data';

/** Joins hex strings (one wire field per argument) into a Buffer. */
function hex(...parts: string[]): Buffer {
  return Buffer.from(parts.join(''), 'hex');
}

const AT = { file: 'fixtures', line: 0 };

/** `captures/authkeys-sha1`: auth 1 / 1 sha1 HBstudy-secret-2024 */
export const SHA1_AUTH: AuthConfig = { outbound: 1, keys: [{ index: 1, method: 'sha1', key: 'HBstudy-secret-2024', at: AT }] };
/** `captures/authkeys-md5`: auth 1 / 1 md5 HBstudy-md5-key */
export const MD5_AUTH: AuthConfig = { outbound: 1, keys: [{ index: 1, method: 'md5', key: 'HBstudy-md5-key', at: AT }] };
/** `captures/authkeys-crc`: auth 1 / 1 crc */
export const CRC_AUTH: AuthConfig = { outbound: 1, keys: [{ index: 1, method: 'crc', at: AT }] };

/** The 16-byte uuid of node A in the sha1 run (base64 `o02Gl+X+Q2mUVK+raJnqOQ==`). */
export const SHA1_NODEA_UUID = hex('a34d8697e5fe43699454afab6899ea39');

/** Spec 10.2: node A's first status (seq=1) as broadcast on UDP, 309 bytes
 *  (`sha1-serial+bcast.pcap`, also `sha1-udp-seq1-payload.bin`). Key: SHA1_AUTH.
 *  The trailer signs the 263 bytes `###\n`..`%%%\n`; the inner auth field is
 *  the same value as on the serial line (SHA1_SERIAL_STATUS_SEQ1). */
export const SHA1_UDP_STATUS_SEQ1 = hex(
  '2323230a',                                                                                                      // ###\n
  '31313a283029743d7374617475732c',                                                                                // 11:(0)t=status,
  '31303a28302973743d696e69742c',                                                                                  // 10:(0)st=init,
  '31303a28302964743d313338382c',                                                                                  // 10:(0)dt=1388,
  '31333a28302970726f746f636f6c3d312c',                                                                            // 13:(0)protocol=1,
  '31323a2830297372633d6e6f6465612c',                                                                              // 12:(0)src=nodea,
  '32373a283129737263757569643da34d8697e5fe43699454afab6899ea392c',                                                // 27:(1)srcuuid=\xa3M\x86\x97\xe5\xfeCi\x94T\xaf\xabh\x99\xea9,
  '383a2830297365713d312c',                                                                                        // 8:(0)seq=1,
  '31343a28302968673d36623034393538332c',                                                                          // 14:(0)hg=6b049583,
  '31343a28302974733d36623034393538322c',                                                                          // 14:(0)ts=6b049582,
  '33323a2830296c643d312e313220302e393820302e353220342f3132312031373636322c',                                      // 32:(0)ld=1.12 0.98 0.52 4/121 17662,
  '383a28302974746c3d332c',                                                                                        // 8:(0)ttl=3,
  '35303a283029617574683d3120343034373535616265353833303332623564616338613263616238376136323333303737303431312c',  // 50:(0)auth=1 404755abe583032b5dac8a2cab87a62330770411,
  '2525250a',                                                                                                      // %%%\n
  '34323a3120383939373766613265353532633337373965636464636138323936643533616333656434633937612c',                  // 42:1 89977fa2e552c3779ecddca8296d53ac3ed4c97a,
);

/** Spec 10.4: node B asks A to retransmit seq 0x1e (`firstseq`/`lastseq` are
 *  decimal here), `md5-bcast-30pct-loss.pcap`. NS_ type: no seq, no ld;
 *  destuuid inserted after the caller's fields. Note the raw uuid bytes
 *  include 0x0a and 0x13. Key: MD5_AUTH. */
export const MD5_UDP_NS_REXMIT = hex(
  '2323230a',                                                                                      // ###\n
  '31343a283029743d4e535f7265786d69742c',                                                          // 14:(0)t=NS_rexmit,
  '31333a283029646573743d6e6f6465612c',                                                            // 13:(0)dest=nodea,
  '31343a28302966697273747365713d33302c',                                                          // 14:(0)firstseq=30,
  '31333a2830296c6173747365713d33302c',                                                            // 13:(0)lastseq=30,
  '32383a28312964657374757569643d7785790a176c43159fa3c695479213e42c',                              // 28:(1)destuuid=w\x85y\n\x17lC\x15\x9f\xa3\xc6\x95G\x92\x13\xe4,
  '31323a2830297372633d6e6f6465622c',                                                              // 12:(0)src=nodeb,
  '32373a283129737263757569643d84266ba32ae34a4ebdc39063ccbc4e5f2c',                                // 27:(1)srcuuid=\x84&k\xa3*\xe3JN\xbd\xc3\x90c\xcc\xbcN_,
  '31343a28302968673d36623034393631652c',                                                          // 14:(0)hg=6b04961e,
  '31343a28302974733d36623034393632662c',                                                          // 14:(0)ts=6b04962f,
  '383a28302974746c3d332c',                                                                        // 8:(0)ttl=3,
  '34323a283029617574683d312063646636663362326462363765393962343835376566626366633838396462642c',  // 42:(0)auth=1 cdf6f3b2db67e99b4857efbcfc889dbd,
  '2525250a',                                                                                      // %%%\n
  '33343a312035383561646335393132333333376635323333666332303833366634363935332c',                  // 34:1 585adc59123337f5233fc20836f46953,
);

/** Spec 10.5: node A's status seq=7 sent to 239.0.0.43:694
 *  (`crc-ucast+mcast.pcap`). Key: CRC_AUTH. */
export const CRC_MCAST_STATUS_SEQ7 = hex(
  '2323230a',                                                                  // ###\n
  '31313a283029743d7374617475732c',                                            // 11:(0)t=status,
  '31323a28302973743d6163746976652c',                                          // 12:(0)st=active,
  '31303a28302964743d313338382c',                                              // 10:(0)dt=1388,
  '31333a28302970726f746f636f6c3d312c',                                        // 13:(0)protocol=1,
  '31323a2830297372633d6e6f6465612c',                                          // 12:(0)src=nodea,
  '32373a283129737263757569643dae550c41ea484708baf12f1a1940457a2c',            // 27:(1)srcuuid=\xaeU\x0cA\xeaHG\x08\xba\xf1/\x1a\x19@Ez,
  '383a2830297365713d372c',                                                    // 8:(0)seq=7,
  '31343a28302968673d36623034393635382c',                                      // 14:(0)hg=6b049658,
  '31343a28302974733d36623034393635382c',                                      // 14:(0)ts=6b049658,
  '33323a2830296c643d302e353020302e383720302e353820352f3131342032373535312c',  // 32:(0)ld=0.50 0.87 0.58 5/114 27551,
  '383a28302974746c3d332c',                                                    // 8:(0)ttl=3,
  '31383a283029617574683d312031656634303335662c',                              // 18:(0)auth=1 1ef4035f,
  '2525250a',                                                                  // %%%\n
  '31303a312032376662663436312c',                                              // 10:1 27fbf461,
);

/** Spec 10.1: the first frame node A wrote to the serial line
 *  (`sha1-serial-a2b.raw`), the classic twin of SHA1_UDP_STATUS_SEQ1. Key: SHA1_AUTH. */
export const SHA1_SERIAL_STATUS_SEQ1 = hex(
  '3e3e3e0a',                                                                                          // >>>\n
  '743d7374617475730a',                                                                                // t=status\n
  '73743d696e69740a',                                                                                  // st=init\n
  '64743d313338380a',                                                                                  // dt=1388\n
  '70726f746f636f6c3d310a',                                                                            // protocol=1\n
  '7372633d6e6f6465610a',                                                                              // src=nodea\n
  '283129737263757569643d6f3032476c2b582b51326d55564b2b72614a6e714f513d3d0a',                          // (1)srcuuid=o02Gl+X+Q2mUVK+raJnqOQ==\n
  '7365713d310a',                                                                                      // seq=1\n
  '68673d36623034393538330a',                                                                          // hg=6b049583\n
  '74733d36623034393538320a',                                                                          // ts=6b049582\n
  '6c643d312e313220302e393820302e353220342f3132312031373636320a',                                      // ld=1.12 0.98 0.52 4/121 17662\n
  '74746c3d330a',                                                                                      // ttl=3\n
  '617574683d3120343034373535616265353833303332623564616338613263616238376136323333303737303431310a',  // auth=1 404755abe583032b5dac8a2cab87a62330770411\n
  '3c3c3c0a',                                                                                          // <<<\n
);

/** Spec 10.5: node B's status seq=7 on the serial line (`crc-serial-b2a.raw`);
 *  the crc digest covers the 150 bytes of field lines before `auth=`. Key: CRC_AUTH. */
export const CRC_SERIAL_STATUS_SEQ7 = hex(
  '3e3e3e0a',                                                                  // >>>\n
  '743d7374617475730a',                                                        // t=status\n
  '73743d6163746976650a',                                                      // st=active\n
  '64743d313338380a',                                                          // dt=1388\n
  '70726f746f636f6c3d310a',                                                    // protocol=1\n
  '7372633d6e6f6465620a',                                                      // src=nodeb\n
  '283129737263757569643d764e4869664b38755168656d776f4b4e496c49676d413d3d0a',  // (1)srcuuid=vNHifK8uQhemwoKNIlIgmA==\n
  '7365713d370a',                                                              // seq=7\n
  '68673d36623034393635380a',                                                  // hg=6b049658\n
  '74733d36623034393635380a',                                                  // ts=6b049658\n
  '6c643d302e353020302e383720302e353820312f3131342032373535330a',              // ld=0.50 0.87 0.58 1/114 27553\n
  '74746c3d330a',                                                              // ttl=3\n
  '617574683d312064303636333966620a',                                          // auth=1 d06639fb\n
  '3c3c3c0a',                                                                  // <<<\n
);

/** Spec 11: the worked digests. */
export const WORKED_DIGESTS = {
  /** HMAC-SHA1 over the classic field lines of SHA1_SERIAL_STATUS_SEQ1 (without auth, >>>, <<<). */
  sha1Inner: '404755abe583032b5dac8a2cab87a62330770411',
  /** HMAC-SHA1 over the 263 signed bytes of SHA1_UDP_STATUS_SEQ1. */
  sha1Trailer: '89977fa2e552c3779ecddca8296d53ac3ed4c97a',
  /** CRC-32 over the 150 bytes of field lines of CRC_SERIAL_STATUS_SEQ7. */
  crcSerial: 'd06639fb',
  /** HMAC-MD5 over `###\n`..`%%%\n` of MD5_UDP_NS_REXMIT. */
  md5Trailer: '585adc59123337f5233fc20836f46953',
  /** HMAC-MD5 over the classic re-encoding (uuids in base64) of MD5_UDP_NS_REXMIT. */
  md5Inner: 'cdf6f3b2db67e99b4857efbcfc889dbd',
} as const;
