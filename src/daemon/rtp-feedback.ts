export * from '../engine/rtp/rtp-feedback.js';
