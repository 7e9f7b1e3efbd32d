/**
 * A worker that sends one effect's mail and says so: run as its own process
 * by test/integration/mail-kill.test.ts, which kills it (or lets the
 * `mail-after-send` failpoint kill it) in the middle of the send.
 * argv: redisUrl prefix smtpPort effectId
 */
import { Redis } from 'ioredis';
import { createMailSender } from '../../src/mail/sender.js';
import { createMailSentStore } from '../../src/store/mail-sent.js';
import { killMail } from './mail-fixtures.js';

const [redisUrl, prefix, port, effectId] = process.argv.slice(2) as [string, string, string, string];
const redis = new Redis(redisUrl);
const sender = createMailSender({ smtp: { host: '127.0.0.1', port: Number(port), secure: false, auth: undefined }, sent: createMailSentStore(redis, prefix), ignoreTLS: true });
console.log(JSON.stringify({ msg: 'sending', effectId }));
const result = await sender.sendMail(effectId, killMail(effectId));
console.log(JSON.stringify({ msg: 'done', result }));
sender.close();
redis.disconnect();

