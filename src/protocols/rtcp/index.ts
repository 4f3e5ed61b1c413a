/**
 * RTCP (RFC 3550 §6, RFC 4585, RFC 5104, RFC 5506, RFC 8888, transport-wide CC): one file per
 * sub-packet type, re-exported here. Importers outside src/protocols/rtcp use this module.
 */
export * from './header.js';
export * from './compound.js';
export * from './report-block.js';
export * from './sender-report.js';
export * from './nack.js';
export * from './fir.js';
export * from './remb.js';
export * from './rewrite.js';
export * from './twcc.js';
export * from './twcc-size-counter.js';
export * from './twcc-encoder.js';
export * from './ccfb.js';
