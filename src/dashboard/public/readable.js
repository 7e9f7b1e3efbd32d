/**
 * Stored codes in words (issue 16's review): dead-letter reasons, queue
 * names, the mail log's codes and a remote change's `via`. Each function
 * gives German words; the raw code stays for the hover (a `title`).
 */
import t from './i18n/de.js';
import { fmtDateTime, fmtNumber } from './format.js';

const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ''));

/** How a dead letter was to go: the stored channel, else its id's prefix (`mail-…`, `cx-…`), else a webhook. */
export function deadChannel(d) {
  if (d.channel) return d.channel;
  if (/^mail-/.test(d.id)) return 'mail';
  if (/^cx-/.test(d.id)) return 'connector';
  return 'webhook';
}

export const channelText = (d) => t.deadList.channels[deadChannel(d)] ?? deadChannel(d);

/**
 * A dead letter's reason in German, from what is stored beside it (the last
 * HTTP status, the attempts) and the cause the worker wrote: "Empfänger
 * antwortete mit Fehler (HTTP 500) · nach 3 Versuchen aufgegeben".
 */
export function deadReason(d) {
  const raw = String(d.reason ?? '');
  const cause = raw.split(/;\s*gave up after/)[0].trim();
  const w = t.deadReason;
  let text;
  let m;
  if (/endpoint disabled|\(410\)/.test(cause) || d.lastStatus === 410) text = w.disabled;
  else if ((m = /^HTTP (\d{3})/.exec(cause)) || (typeof d.lastStatus === 'number' && d.lastStatus >= 400)) text = fill(w.http, { status: m ? m[1] : d.lastStatus });
  else if ((m = /network error\s*(\S*)/i.exec(cause))) text = fill(w.network, { code: m[1] || '?' });
  else if ((m = /timeout after (\d+) ?ms/i.exec(cause))) text = fill(w.timeout, { s: fmtNumber(Math.round(Number(m[1]) / 100) / 10) });
  else if (/not reached|ECONNREFUSED|unreachable/i.test(cause)) text = w.remote;
  else if (/quota/i.test(cause)) text = w.mailQuota;
  else if (/undeliverable|bounced/i.test(cause)) text = w.mailRefused;
  else text = w.other;
  const attempts = Number(d.attempts ?? 0);
  const tail = attempts === 0 ? w.notTried : attempts === 1 ? w.gaveUpOne : fill(w.gaveUp, { n: fmtNumber(attempts) });
  return { cause: text, text: `${text} · ${tail}`, raw };
}

/** A queue's German name: `mail` → "Mail-Versand", `handoff-dataport` → "Übergaben Dataport AöR"; unknown ones as they are. */
export function queueLabel(name, orgName) {
  const q = t.queueNames;
  if (q[name] && !name.endsWith('Of')) return q[name];
  const per = /^(handoff|intake|events)-(.+)$/.exec(name);
  if (per) {
    const word = per[1] === 'handoff' ? q.handoff : per[1] === 'intake' ? q.intakeOf : q.eventsOf;
    return `${word} ${orgName(per[2])}`;
  }
  return name;
}

/** A mail log code in words: a kind, a classification rule, a match rule. */
export const mailWord = (part, code) => (code ? t.mailLog[part][code] ?? code : '–');

/** A mail's outcome in words: `ACCEPT+RESOLVE`, `refused (quota)`, `ignored (list mail)`, `bounce (permanent), no ticket`. */
export function mailOutcome(code) {
  const o = t.mailLog.outcome;
  const refused = /^refused \((\w+)\)/.exec(code);
  if (refused) return `${o.refused}: ${t.mailLog.reason[refused[1]] ?? refused[1]}`;
  if (/^ignored\b/.test(code)) return o.ignored;
  if (/^bounce\b/.test(code)) return o.bounce;
  return code.split('+').map((c) => o[c] ?? c).join(', ');
}

/** A mail's party: the organisation by its name, the reporter in words. */
export const mailParty = (party, orgName) => (party === 'reporter' ? t.mailLog.reporter : party ? orgName(party) : '–');

/**
 * Where a remote change came from, as the connector wrote it (src/connectors/sync.ts):
 * "aus Request Tracker, Ticket #4711 · Änderung 88 · über die verknüpfte Ticketnummer zugeordnet".
 */
export function viaText(via) {
  if (!via || typeof via !== 'object') return null;
  const v = t.via;
  if (via.channel === 'mail') return v.mail;
  const system = v.systems[via.system] ?? via.system ?? '?';
  const parts = [via.remoteId !== undefined ? fill(v.remote, { system, remoteId: via.remoteId }) : system];
  if (via.change !== undefined) parts.push(fill(v.change, { change: via.change }));
  if (via.matchedBy) parts.push(v.matched[via.matchedBy] ?? fill(v.matchedOther, { by: via.matchedBy }));
  if (via.refused) parts.push(v.refused);
  return parts.join(' · ');
}

/**
 * A field error of an action in German, naming the field: the problem
 * document's `errors[].path` and its English message (kept for the hover).
 */
export function fieldErrorText(e, label) {
  const f = t.fieldError;
  const field = label;
  const msg = String(e.message ?? '');
  if (/required|expected .*received undefined|must not be empty|(>=|at least )1 character/i.test(msg)) return fill(f.required, { field });
  if (/too big|at most|too long|<=/i.test(msg)) return fill(f.tooLong, { field });
  if (/too small|at least|>=/i.test(msg)) return fill(f.tooShort, { field });
  if (/unknown organisation/i.test(msg)) return fill(f.unknownOrg, { field });
  return fill(f.invalid, { field });
}

/** "erneut eingestellt am 07.12. 17:04": when an operator replayed a dead letter (now, when the answer did not say). */
export const replayedText = (at) => `${t.words.replayedAt} ${fmtDateTime(at ?? new Date().toISOString())}`;

/**
 * Replays a dead letter through the API (`force`: a mail in doubt, sent again
 * on purpose) and puts in the button's place what came of it: when it was
 * replayed, or that it failed. The board and the dead-letter list both use it.
 */
export async function replayInPlace(h, id, button, csrf, force = false) {
  button.disabled = true;
  const res = await fetch(`/v1/dead-letters/${encodeURIComponent(id)}/replay${force ? '?force=true' : ''}`, { method: 'POST', credentials: 'same-origin', headers: { 'x-csrf-token': csrf } });
  const body = res.ok ? await res.json().catch(() => null) : null;
  button.replaceWith(h('span', { class: res.ok ? 'replayed' : 'bad' }, res.ok ? replayedText(body?.replayedAt) : t.words.replayFailed));
  return res.ok;
}
