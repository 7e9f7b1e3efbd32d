/**
 * Mail out, composition: a pure function of effect, ticket, kind, settings
 * and thread. The same effect gives the same Message-ID and the same bytes.
 */
import { describe, expect, it } from 'vitest';
import { composeHandoffMail, composeInfoRequestMail, composeMail, composeUpdateMail, MAX_REFERENCES, type ComposeMailInput } from '../../src/mail/compose.js';
import { messageIdFor, ticketIdFromMessageId, ticketIdFromSubject } from '../../src/mail/ids.js';
import { parseMail } from '../../src/mail/parse.js';
import { renderMail } from '../../src/mail/render.js';
import { TICKET, ticketView } from '../helpers/mail-fixtures.js';

const input = (over: Partial<ComposeMailInput> = {}): ComposeMailInput => ({
  effectId: 'eff-1', at: '2026-12-07T09:00:00.000Z', ticket: ticketView(), personalData: false, message: { kind: 'handoff' },
  recipient: { orgId: 'vendor-lc', address: 'support@vendor.test' }, sender: { address: 'lotse@lotse.example' }, thread: [], ...over,
});

describe('composeMail', () => {
  it('tags the subject, takes a Message-ID on the sender\'s domain from the effect id, and marks automatic mail', () => {
    const m = composeHandoffMail(input());
    expect(m.subject).toBe(`[Lotse#${TICKET}] Übergabe: Lieferantenkonto gesperrt`);
    expect(ticketIdFromSubject(m.subject)).toBe(TICKET);
    expect(m.messageId).toBe(messageIdFor('eff-1', TICKET, 'lotse.example'));
    expect(m.messageId).toMatch(/^<lotse\.T[0-9A-Z]{20}\.[0-9a-f]{24}@lotse\.example>$/);
    expect(ticketIdFromMessageId(m.messageId, 'lotse.example')).toBe(TICKET);
    expect(ticketIdFromMessageId(m.messageId, 'elsewhere.example')).toBeNull();
    expect(m.headers['Auto-Submitted']).toBe('auto-generated');
    expect(m.inReplyTo).toBeUndefined();
    expect(m.envelope).toEqual({ from: 'lotse@lotse.example', to: ['support@vendor.test'] });
  });

  it('gives the same Message-ID to every attempt of one effect and another to another effect', () => {
    expect(composeMail(input()).messageId).toBe(composeMail(input()).messageId);
    expect(composeMail(input({ effectId: 'eff-2' })).messageId).not.toBe(composeMail(input()).messageId);
  });

  it('threads to the last message of the conversation and keeps References bounded', () => {
    const thread = Array.from({ length: 30 }, (_, i) => `<m${i}@vendor.test>`);
    const m = composeUpdateMail({ ...input({ thread: ['m-first@x.test', ...thread] }), summary: 'Neue Angaben der Landesstelle.' });
    expect(m.inReplyTo).toBe('<m29@vendor.test>');
    expect(m.references).toHaveLength(MAX_REFERENCES);
    expect(m.references[0]).toBe('<m-first@x.test>');
    expect(m.references.at(-1)).toBe('<m29@vendor.test>');
    expect(m.subject).toContain('Aktualisierung');
    expect(m.text).toContain('Neue Angaben der Landesstelle.');
  });

  it('carries the reporter only where the service allows it', () => {
    expect(composeMail(input()).text).not.toMatch(/Erika|erika@|421 123456/);
    const allowed = composeMail(input({ personalData: true })).text;
    expect(allowed).toContain('Erika Mustermann');
    expect(allowed).toContain('erika@example.org');
  });

  it('explains the reply convention in German', () => {
    const text = composeInfoRequestMail({ ...input(), question: 'Welche Lieferantennummer ist betroffen?' }).text;
    expect(text).toContain('Welche Lieferantennummer ist betroffen?');
    expect(text).toContain('Status: gelöst');
    expect(text).toContain(`[Lotse#${TICKET}]`);
    expect(text).toMatch(/eigene Vorgangsnummer/);
  });

  it('a person\'s words passed on are not marked automatic', () => {
    const m = composeMail(input({ automatic: false, message: { kind: 'update', summary: 'x' } }));
    expect(m.headers['Auto-Submitted']).toBeUndefined();
    expect(m.headers['X-Auto-Response-Suppress']).toBeUndefined();
  });

  it('keeps line breaks out of headers (no header injection from a ticket subject)', async () => {
    const m = composeMail(input({ ticket: ticketView({ subject: 'Hallo\r\nBcc: evil@x.test' }) }));
    expect(m.subject).not.toMatch(/[\r\n]/);
    const parsed = await parseMail(await renderMail(m));
    expect(parsed.subject).toBe(`[Lotse#${TICKET}] Übergabe: Hallo Bcc: evil@x.test`);
    expect(parsed.headers['bcc']).toBeUndefined();
  });
});

describe('renderMail', () => {
  it('renders the same bytes for the same composition, and they parse back to what was composed', async () => {
    const m = composeHandoffMail({ ...input({ thread: ['<a@vendor.test>'] }) });
    const [a, b] = [await renderMail(m), await renderMail(m)];
    expect(a.equals(b)).toBe(true);
    const parsed = await parseMail(a);
    expect(parsed.messageId).toBe(m.messageId);
    expect(parsed.subject).toBe(m.subject);
    expect(parsed.inReplyTo).toEqual(['<a@vendor.test>']);
    expect(parsed.references).toEqual(['<a@vendor.test>']);
    expect(parsed.date).toBe('2026-12-07T09:00:00.000Z');
    expect(parsed.text).toBe(m.text);
  });
});
