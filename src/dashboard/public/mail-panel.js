/**
 * The board's exchange panel (issue 17): per organisation that works by
 * e-mail, its mail health from GET /v1/mail/health (last success, queued,
 * failing) and the addresses that bounced for good (GET
 * /v1/mail/undeliverable); per organisation that works in a ticket system of
 * its own, its connector health (last success, queued, failing) from the
 * overview app.js reads anyway (it hands it over with the event
 * `lotse:overview`, together with the names of the organisations).
 * Operators only: for anyone else the mail API answers 403 and the overview
 * has no lists, so the panel stays hidden. A separate file so the board's
 * app.js stays as it is; every text goes in as text (dom.js), never as markup.
 */
import { h, replace, table } from './dom.js';
import { shortId } from './format.js';

/** A ticket as a link to its page, the whole id on hover. */
const ticketLink = (id) => (id ? h('a', { href: `/dashboard/tickets/${encodeURIComponent(id)}`, class: 'ticket-id', title: id }, shortId(id)) : '–');

const when = (iso) => (iso ? new Date(iso).toLocaleString('de-DE', { dateStyle: 'short', timeStyle: 'short' }) : '–');
const count = (n) => n.toLocaleString('de-DE');

async function getJson(url) {
  const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  return res.ok ? res.json() : null;
}

/** What the panel shows; each part filled by its own source. */
const state = { mail: null, undeliverable: null, connectors: null, names: {} };

/** An organisation by its name; the id on hover. */
const orgCell = (id) => h('span', { class: 'name', title: id }, state.names[id] ?? id);
/** Failures in a row: marked once there is one. */
const failingCell = (n) => h('span', { class: n > 0 ? 'bad' : '' }, count(n));

function mailPart() {
  if (!state.mail || state.mail.length === 0) return null;
  const bad = state.undeliverable ?? [];
  return h('div', { class: 'exchange-mail' },
    h('h3', {}, 'Mail'),
    table(['Organisation', 'Adresse', 'Zuletzt gesendet', 'Zuletzt empfangen', 'Wartend', 'Fehlschläge in Folge', 'Letzter Fehler'],
      state.mail.map((o) => [orgCell(o.orgId), o.address, when(o.lastSentAt), when(o.lastReceivedAt), count(o.queued), failingCell(o.failing), o.lastFailure ?? '–']),
      { numeric: [4, 5] }),
    bad.length > 0
      ? [h('h3', {}, 'Unzustellbare Adressen'), table(['Adresse', 'Seit', 'Status', 'Vorgang'], bad.map((u) => [u.address, when(u.at), u.status, ticketLink(u.ticketId)]))]
      : h('p', { class: 'muted' }, 'Keine unzustellbaren Adressen.'),
  );
}

function connectorPart() {
  if (!state.connectors || state.connectors.length === 0) return null;
  return h('div', { class: 'exchange-connectors' },
    h('h3', {}, 'Ticketsysteme'),
    table(['Organisation', 'Zuletzt erfolgreich', 'Wartend', 'Fehlschläge in Folge', 'Letzter Fehler', 'Übernommen', 'Ohne Zuordnung'],
      state.connectors.map((c) => [
        orgCell(c.orgId), when(c.lastSuccessAt), count(c.queued), failingCell(c.failing),
        c.lastError ? h('span', { title: c.lastFailureAt ? `seit ${when(c.lastFailureAt)}` : undefined }, c.lastError) : '–',
        count(c.applied), h('span', { title: `ein: ${count(c.unmappedIn)} · aus: ${count(c.unmappedOut)}` }, count(c.unmappedIn + c.unmappedOut)),
      ]),
      { numeric: [2, 3, 5, 6] }),
  );
}

function render() {
  const panel = document.getElementById('panel-mail');
  const body = document.getElementById('mail-health');
  if (!panel || !body) return;
  const parts = [mailPart(), connectorPart()].filter((p) => p !== null);
  panel.hidden = parts.length === 0;
  replace(body, parts);
}

async function refreshMail() {
  const [health, bad] = await Promise.all([getJson('/v1/mail/health'), getJson('/v1/mail/undeliverable')]);
  state.mail = health?.items ?? null;
  state.undeliverable = bad?.items ?? null;
  render();
}

// app.js hands over each overview it read: the connectors' health (operators only) and the names.
document.addEventListener('lotse:overview', (e) => {
  const { overview, names } = e.detail;
  state.names = names?.orgs ?? {};
  state.connectors = overview.lists ? overview.connectors ?? [] : null;
  render();
});

if (document.getElementById('panel-mail')) {
  void refreshMail();
  setInterval(() => void refreshMail(), 30_000);
}
