import { RESOLVED_LINE } from './compose.js';

/**
 * What a person's reply says, by the convention the mail explains: a line
 * `Status: gelöst` (or the organisation's `resolvedWhen` pattern) resolves;
 * the rest of the new text is the note or the resolution. Quoted lines
 * (`> …`) and everything below a quote header are the earlier mail, not the
 * reply. Pure.
 */

export interface ReadReply {
  resolved: boolean;
  /** The reply's own text, quotes and the resolution line removed. */
  text: string;
}

const DEFAULT_RESOLVED = new RegExp(`^\\s*${RESOLVED_LINE.replace('ö', '(ö|oe)')}\\s*\\.?\\s*$`, 'im');
const QUOTE_HEADER = /^(am .+ schrieb .+:|on .+ wrote:|-{2,}\s*(original message|ursprüngliche nachricht)\s*-{2,}|von:\s.+|from:\s.+)$/i;

export function readReply(text: string, resolvedWhen?: RegExp): ReadReply {
  const own: string[] = [];
  for (const line of text.replace(/\r\n/g, '\n').split('\n')) {
    if (QUOTE_HEADER.test(line.trim())) break;
    if (/^\s*>/.test(line)) continue;
    own.push(line);
  }
  const pattern = resolvedWhen ?? DEFAULT_RESOLVED;
  const ownText = own.join('\n');
  const resolved = pattern.test(ownText);
  const rest = resolvedWhen ? ownText : own.filter((l) => !DEFAULT_RESOLVED.test(l)).join('\n');
  return { resolved, text: rest.trim() };
}
