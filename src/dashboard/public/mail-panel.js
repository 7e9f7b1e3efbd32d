/**
 * The board's mail panel (issue 17): per organisation that works by e-mail,
 * its mail health from GET /v1/mail/health (last success, queued, failing)
 * and the addresses that bounced for good (GET /v1/mail/undeliverable).
 * Operators only: for anyone else the API answers 403 and the panel stays
 * hidden. A separate file so the board's app.js stays untouched; every text
 * goes in as text (dom.js), never as markup.
 */
import { h, replace, table } from './dom.js';

const when = (iso) => (iso ? new Date(iso).toLocaleString('de-DE', { dateStyle: 'short', timeStyle: 'short' }) : '–');

async function getJson(url) {
  const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  return res.ok ? res.json() : null;
}

async function refresh(panel, body) {
  const [health, bad] = await Promise.all([getJson('/v1/mail/health'), getJson('/v1/mail/undeliverable')]);
  if (!health || health.items.length === 0) return;
  panel.hidden = false;
  replace(body,
    table(['Organisation', 'Adresse', 'Zuletzt gesendet', 'Zuletzt empfangen', 'Wartend', 'Fehlschläge in Folge', 'Letzter Fehler'],
      health.items.map((o) => [o.orgId, o.address, when(o.lastSentAt), when(o.lastReceivedAt), String(o.queued), String(o.failing), o.lastFailure ?? '–']),
      { numeric: [4, 5] }),
    bad && bad.items.length > 0
      ? [h('h3', {}, 'Unzustellbare Adressen'), table(['Adresse', 'Seit', 'Status', 'Vorgang'], bad.items.map((u) => [u.address, when(u.at), u.status, u.ticketId ?? '–']))]
      : h('p', { class: 'muted' }, 'Keine unzustellbaren Adressen.'),
  );
}

const panel = document.getElementById('panel-mail');
const body = document.getElementById('mail-health');
if (panel && body) {
  void refresh(panel, body);
  setInterval(() => void refresh(panel, body), 30_000);
}
