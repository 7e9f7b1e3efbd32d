import { createHash } from 'node:crypto';
import { convert as htmlToText } from 'html-to-text';
import { simpleParser, type AddressObject, type Attachment, type HeaderValue, type ParsedMail } from 'mailparser';
import { bracketed } from './ids.js';

/**
 * Mail in, parsing: raw RFC 5322 bytes to plain data the classifier and the
 * matcher read. No I/O. HTML is reduced to text by mailparser (which uses
 * html-to-text) and the HTML itself is dropped: nothing from a mail is ever
 * kept as markup. Delivery reports and the returned headers of a bounce are
 * taken apart here and never count as attachments.
 */

export interface InboundAttachment {
  name: string;
  contentType: string;
  size: number;
  content: Buffer;
}

export interface DeliveryRecipient {
  address: string;
  action: string;
  status: string;
  diagnostic: string | undefined;
}

export interface DeliveryReport {
  recipients: DeliveryRecipient[];
  /** The Message-ID of the mail that failed, from the returned message or headers. */
  originalMessageId: string | undefined;
  originalEnvelopeId: string | undefined;
}

export interface InboundMail {
  /** Bracketed, as in the header; undefined when the mail has none. */
  messageId: string | undefined;
  inReplyTo: string[];
  references: string[];
  subject: string;
  from: { address: string; name: string } | undefined;
  to: string[];
  cc: string[];
  /** The envelope sender: '' for the null return path `<>`, undefined when unknown. */
  returnPath: string | undefined;
  date: string | undefined;
  /** Lower-case header name → the raw values (for the rules that read headers). */
  headers: Record<string, string[]>;
  listId: string | undefined;
  hasListHeaders: boolean;
  contentType: string;
  reportType: string | undefined;
  text: string;
  textTruncated: boolean;
  attachments: InboundAttachment[];
  droppedAttachments: { name: string; size: number; reason: 'too-many' | 'too-big' }[];
  delivery: DeliveryReport | undefined;
  /** sha256 of the raw bytes, hex. */
  hash: string;
  size: number;
}

export interface ParseLimits {
  maxAttachments: number;
  maxAttachmentBytes: number;
  maxTextChars: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = Object.freeze({ maxAttachments: 10, maxAttachmentBytes: 10 * 1024 * 1024, maxTextChars: 20_000 });

const READ_HEADERS = ['auto-submitted', 'precedence', 'x-loop', 'x-auto-response-suppress', 'return-path', 'x-autoreply', 'x-autorespond', 'x-lotse-ticket', 'list-id', 'list-unsubscribe', 'list-post', 'list-help', 'list-owner', 'list-subscribe', 'list-archive'];
const REPORT_PARTS = new Set(['message/delivery-status', 'message/global-delivery-status']);
const RETURNED_PARTS = new Set(['message/rfc822', 'text/rfc822-headers', 'message/global', 'message/global-headers']);

export async function parseMail(raw: Buffer | string, opts: { envelopeFrom?: string; limits?: Partial<ParseLimits> } = {}): Promise<InboundMail> {
  const limits = { ...DEFAULT_PARSE_LIMITS, ...opts.limits };
  const bytes = typeof raw === 'string' ? Buffer.from(raw) : raw;
  const p = await simpleParser(bytes, { keepDeliveryStatus: true, skipTextToHtml: true, skipImageLinks: true, keepCidLinks: true, maxHtmlLengthToParse: 2_000_000 });
  const headers = rawHeaders(p);
  const contentType = p.headers.get('content-type') as { value: string; params: Record<string, string> } | undefined;
  // mailparser turns an HTML-only mail into text, but not when attachments come with it: then this does, the same way.
  const fromHtml = !p.text?.trim() && typeof p.html === 'string' ? htmlToText(p.html.slice(0, 2_000_000), { wordwrap: false, selectors: [{ selector: 'img', format: 'skip' }, { selector: 'a', options: { ignoreHref: true } }] }) : '';
  const fullText = (p.text?.trim() ? p.text : fromHtml).replace(/\r\n/g, '\n');
  const { attachments, dropped, delivery } = splitParts(p.attachments, limits);
  return {
    messageId: p.messageId ? bracketed(p.messageId) : undefined,
    inReplyTo: idList(p.inReplyTo),
    references: idList(p.references),
    subject: p.subject ?? '',
    from: firstAddress(p.from),
    to: addresses(p.to),
    cc: addresses(p.cc),
    returnPath: returnPathOf(opts.envelopeFrom, headers['return-path']),
    date: p.date && !Number.isNaN(p.date.getTime()) ? p.date.toISOString() : undefined,
    headers,
    listId: listIdOf(p.headers.get('list')),
    hasListHeaders: Object.keys(headers).some((h) => h.startsWith('list-')),
    contentType: contentType?.value.toLowerCase() ?? 'text/plain',
    reportType: contentType?.params['report-type']?.toLowerCase(),
    text: fullText.slice(0, limits.maxTextChars),
    textTruncated: fullText.length > limits.maxTextChars,
    attachments,
    droppedAttachments: dropped,
    delivery,
    hash: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
  };
}

function rawHeaders(p: ParsedMail): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const { key, line } of p.headerLines) {
    if (!READ_HEADERS.includes(key)) continue;
    const value = line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
    (out[key] ??= []).push(value);
  }
  return out;
}

function splitParts(parts: Attachment[], limits: ParseLimits) {
  const attachments: InboundAttachment[] = [];
  const dropped: InboundMail['droppedAttachments'] = [];
  let report: string | undefined;
  let returned: string | undefined;
  for (const a of parts) {
    const type = a.contentType.toLowerCase();
    if (REPORT_PARTS.has(type) && report === undefined) {
      report = a.content.toString('utf8');
      continue;
    }
    if (RETURNED_PARTS.has(type) && report !== undefined && returned === undefined) {
      returned = a.content.toString('utf8');
      continue;
    }
    const name = a.filename ?? 'anhang';
    if (a.size > limits.maxAttachmentBytes) dropped.push({ name, size: a.size, reason: 'too-big' });
    else if (attachments.length >= limits.maxAttachments) dropped.push({ name, size: a.size, reason: 'too-many' });
    else attachments.push({ name, contentType: type, size: a.size, content: a.content });
  }
  return { attachments, dropped, delivery: report === undefined ? undefined : parseDeliveryStatus(report, returned) };
}

/** RFC 3464: a per-message block, then one block per recipient, separated by blank lines. */
export function parseDeliveryStatus(report: string, returned: string | undefined): DeliveryReport {
  const blocks = report.replace(/\r\n/g, '\n').split(/\n\s*\n/).map(fieldsOf).filter((f) => Object.keys(f).length > 0);
  const perMessage = blocks[0] ?? {};
  const recipients = blocks
    .filter((b) => b['final-recipient'] || b['original-recipient'])
    .map((b) => ({
      address: addressOfField(b['final-recipient'] ?? b['original-recipient'] ?? ''),
      action: (b['action'] ?? '').toLowerCase(),
      status: (b['status'] ?? '').split(/\s/)[0] ?? '',
      diagnostic: b['diagnostic-code'],
    }));
  const originalMessageId = returned ? /^message-id:\s*(<[^>\r\n]+>)/im.exec(returned.replace(/\r?\n[ \t]+/g, ' '))?.[1] : undefined;
  return { recipients, originalMessageId, originalEnvelopeId: perMessage['original-envelope-id'] };
}

function fieldsOf(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of block.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) out[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  return out;
}

/** `rfc822; a@b` → `a@b`. */
const addressOfField = (value: string) => value.replace(/^[^;]*;\s*/, '').replace(/^<|>$/g, '').trim().toLowerCase();

function idList(value: string | string[] | undefined): string[] {
  const all = (Array.isArray(value) ? value : value ? [value] : []).flatMap((v) => v.match(/<[^<>\s]+>/g) ?? (v.trim() ? [v.trim()] : []));
  return all.map(bracketed).slice(0, 100);
}

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
  const objs = Array.isArray(value) ? value : value ? [value] : [];
  return objs.flatMap((o) => o.value.flatMap((a) => (a.group ?? [a]).map((m) => m.address?.toLowerCase() ?? ''))).filter(Boolean);
}

function firstAddress(value: AddressObject | undefined): InboundMail['from'] {
  const a = value?.value[0];
  return a?.address ? { address: a.address.toLowerCase(), name: a.name } : undefined;
}

function returnPathOf(envelopeFrom: string | undefined, header: string[] | undefined): string | undefined {
  if (envelopeFrom !== undefined) return envelopeFrom.replace(/^<|>$/g, '').toLowerCase();
  // The delivering MTA writes Return-Path; the first (topmost) one is its.
  const first = header?.[0];
  return first === undefined ? undefined : first.replace(/^<|>$/g, '').trim().toLowerCase();
}

function listIdOf(list: HeaderValue | undefined): string | undefined {
  if (!list || typeof list !== 'object' || Array.isArray(list) || list instanceof Date) return undefined;
  const id = (list as Record<string, { id?: string }>)['id']?.id;
  return id || undefined;
}
