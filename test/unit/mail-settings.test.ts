/** The mail settings: environment (contract names) and an organisation's `mail` block. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import { maximumSchedule } from '../../src/webhooks/backoff.js';
import { mailRoomSettings } from '../../workers/mail-room.js';
import { mailTopology } from '../helpers/mail-exchange.js';
import { loadMailConfig, OrganisationMailSchema, parseSmtpUrl } from '../../src/mail/settings.js';

describe('mail settings', () => {
  it('reads LOTSE_SMTP_URL, LOTSE_MAIL_FROM and LOTSE_MAIL_LISTEN', () => {
    expect(loadMailConfig({ LOTSE_SMTP_URL: 'smtp://mx.example:25', LOTSE_MAIL_FROM: 'lotse@Lotse.Example', LOTSE_MAIL_LISTEN: '127.0.0.1:2525' })).toEqual({
      smtpUrl: 'smtp://mx.example:25', from: 'lotse@Lotse.Example', domain: 'lotse.example',
      listen: { host: '127.0.0.1', port: 2525, protocol: 'smtp' }, maxBytes: 10 * 1024 * 1024,
      imap: [], maxPerDay: 20, retryHours: 26, backoffMs: 30_000, maxAttachments: 10, maxAttachmentBytes: 5 * 1024 * 1024, insecure: false, attachmentBaseUrl: undefined,
    });
    expect(loadMailConfig({ LOTSE_MAIL_LISTEN: '[::1]:24', LOTSE_MAIL_LISTEN_PROTOCOL: 'lmtp' }).listen).toEqual({ host: '::1', port: 24, protocol: 'lmtp' });
    expect(loadMailConfig({}).smtpUrl).toBeUndefined();
  });

  it('reads LOTSE_IMAP_URLS: several mailboxes, folder and env: password', () => {
    const c = loadMailConfig({ LOTSE_IMAP_URLS: 'imap://lotse:pw@127.0.0.1:1143, imaps://desk:env:IMAP_PW@mx.example/Eingang', IMAP_PW: 's3cret' });
    expect(c.imap).toEqual([
      { name: 'lotse@127.0.0.1:1143/INBOX', host: '127.0.0.1', port: 1143, secure: false, auth: { user: 'lotse', pass: 'pw' }, folder: 'INBOX' },
      { name: 'desk@mx.example:993/Eingang', host: 'mx.example', port: 993, secure: true, auth: { user: 'desk', pass: 's3cret' }, folder: 'Eingang' },
    ]);
    expect(() => loadMailConfig({ LOTSE_IMAP_URLS: 'imap://mx.example' })).toThrow(/names its user/);
    expect(() => loadMailConfig({ LOTSE_IMAP_URLS: 'imap://a:env:NOPE@mx.example' })).toThrow(/NOPE/);
  });

  it('names every wrong variable, and wants a sender with an SMTP server', () => {
    expect(() => loadMailConfig({ LOTSE_SMTP_URL: 'http://x', LOTSE_MAIL_LISTEN: 'nope' })).toThrow(/LOTSE_SMTP_URL[\s\S]*LOTSE_MAIL_LISTEN/);
    expect(() => loadMailConfig({ LOTSE_SMTP_URL: 'smtp://x' })).toThrow(/LOTSE_MAIL_FROM/);
  });

  it('takes user and password from the URL, the password also from env:NAME', () => {
    expect(parseSmtpUrl('smtps://lotse:geheim@mx.example', {})).toEqual({ host: 'mx.example', port: 465, secure: true, auth: { user: 'lotse', pass: 'geheim' } });
    expect(parseSmtpUrl('smtp://lotse:env:SMTP_PASSWORD@mx.example:587', { SMTP_PASSWORD: 'aus der Umgebung' })).toEqual({ host: 'mx.example', port: 587, secure: false, auth: { user: 'lotse', pass: 'aus der Umgebung' } });
    expect(parseSmtpUrl('smtp://mx.example', {})).toEqual({ host: 'mx.example', port: 25, secure: false, auth: undefined });
    expect(() => parseSmtpUrl('smtp://lotse:env:MISSING@mx.example', {})).toThrow(/MISSING/);
  });

  it('checks an organisation\'s mail block', () => {
    expect(OrganisationMailSchema.parse({ address: 'support@vendor.example', ticketNumber: 'INC-[0-9]+', resolvedWhen: 'Status: gel(ö|oe)st' })).toBeTruthy();
    expect(OrganisationMailSchema.safeParse({ address: 'support@vendor.example', ticketNumber: 'INC-[' }).success).toBe(false);
    expect(OrganisationMailSchema.safeParse({ address: 'kein-mail' }).success).toBe(false);
  });

  it('checks the intake mailboxes against the topology, naming each wrong field', () => {
    const with_ = (mailboxes: unknown[]) => () => parseTopology({ ...DEFAULT_TOPOLOGY, mailboxes } as never, 'test');
    expect(with_([{ address: 'in@lotse.example', orgId: 'desk-HB', service: 'uvo' }])().config.mailboxes).toHaveLength(1);
    let message = '';
    try {
      with_([
        { address: 'a@lotse.example', orgId: 'nobody', service: 'uvo' },
        { address: 'b@lotse.example', orgId: 'vendor-lc', service: 'nothing' },
        { address: 'B@lotse.example', orgId: 'desk-HB', service: 'uvo', land: 'XX' },
      ])();
    } catch (err) {
      message = String((err as Error).message) + JSON.stringify(err);
    }
    for (const path of ['mailboxes.0.orgId: unknown organisation nobody', 'mailboxes.1.service: unknown service nothing', 'mailboxes.1.land: needed: vendor-lc names no Land', 'mailboxes.2.address: duplicate mailbox address']) {
      expect(message).toContain(path);
    }
  });

  it('refuses to start mail organisations without an SMTP server, and retries a mail for at least a day by default', () => {
    expect(() => mailRoomSettings(mailTopology(), {})).toThrow('LOTSE_SMTP_URL and LOTSE_MAIL_FROM: needed, since vendor-lc, vendor-pq work(s) by e-mail');
    const s = mailRoomSettings(mailTopology(), { LOTSE_SMTP_URL: 'smtp://127.0.0.1:25', LOTSE_MAIL_FROM: 'lotse@lotse.example' });
    expect([...s.mailOrgs]).toEqual(['vendor-lc', 'vendor-pq']);
    // Every wait is at least half its ceiling: the certain part of the schedule alone spans LOTSE_MAIL_RETRY_HOURS (26 h).
    const certain = maximumSchedule(s.attempts, s.backoff).reduce((a, b) => a + b / 2, 0);
    expect(certain).toBeGreaterThanOrEqual(26 * 3_600_000);
  });
});

