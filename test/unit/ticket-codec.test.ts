/**
 * The ticket document codec: what it writes reads back exactly as the JSON it
 * stands for, for documents from every state the machine reaches, for shapes
 * its table does not know, and across codec instances (another process); the
 * formats written by earlier versions still read.
 */
import { describe, expect, it, vi } from 'vitest';
import { createPureStepper } from '../../machines/pure.js';
import { seededRandom } from '../../src/seeded-random.js';
import { decodeTicketDoc, encodeTicketDoc } from '../../src/store/ticket-codec.js';
import { MINUTE, T0, candidateEvents, inputOf, machine, stateOf, type TicketSpec } from './ticket-fixtures.js';

const stepper = createPureStepper(machine);
/** What JSON keeps of a value: the codec must give back at least this, and nothing else. */
const asJson = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

/** A ticket's `data` as written now: land, service, category, createdBy, receivedAt and createdAt live only in the context. */
const data = (extra: Record<string, unknown> = {}) => ({
  externalRef: 'ext-1', channel: 'phone-115', ars: undefined, themeField: 'familie-kind',
  subject: 'Antrag lässt sich nicht absenden ✓', description: 'Zeile 1\nZeile 2 — "zitiert"', attachments: [], ...extra,
});

function documents(): { state: string; doc: unknown }[] {
  const specs: TicketSpec[] = [
    { service: 'uvo', land: 'BY', category: 'technical', createdBy: 'desk-BY', impact: 'high', urgency: 'high' },
    { service: 'elfe', land: 'HB', category: 'subject-matter', createdBy: 'desk-HB', impact: 'low', urgency: 'medium' },
  ];
  const docs: { state: string; doc: unknown }[] = [];
  for (let walk = 0; walk < 40; walk++) {
    const random = seededRandom(1000 + walk);
    let snap = stepper.initialTransition(inputOf(specs[walk % 2]!))[0];
    let at = T0;
    for (let step = 0; step < 20 && snap.status === 'active'; step++) {
      docs.push({ state: stateOf(snap), doc: { mv: 1, upd: at, data: data(), snap: { value: snap.value, context: snap.context } } });
      at += Math.floor(random() * 120) * MINUTE;
      const possible = candidateEvents(snap, at).filter((e) => snap.can(e));
      if (possible.length === 0) break;
      const chosen = possible[Math.floor(random() * possible.length)]!;
      snap = stepper.transition(snap, chosen)[0];
      at = Math.max(at, chosen.at);
    }
    docs.push({ state: stateOf(snap), doc: { mv: 1, upd: at, data: data(), snap: { value: snap.value, context: snap.context } } });
  }
  return docs;
}

describe('ticket document codec', () => {
  const docs = documents();

  it('reads back every document of every state reached as the JSON it stands for', () => {
    const states = new Set(docs.map((d) => d.state));
    for (const s of ['level1.new', 'level2.handoffPending', 'level3.open', 'level1.waiting', 'resolved', 'closed']) expect(states).toContain(s);
    for (const { doc } of docs) expect(asJson(decodeTicketDoc(encodeTicketDoc(doc)))).toEqual(asJson(doc));
  });

  it('writes the current format, smaller than half the JSON for a ticket', () => {
    const packed = encodeTicketDoc(docs[0]!.doc);
    expect(packed[0]).toBe(0x03);
    expect(packed.length).toBeLessThan(JSON.stringify(docs[0]!.doc).length / 2);
  });

  it('keeps shapes the table does not know, and reads them in a fresh instance of the codec (another process)', async () => {
    const odd = { mv: 1, upd: T0, data: data({ attachments: [{ name: 'a.pdf', url: 'https://x.example/a.pdf', size: 12 }], extra: { nested: [1, 'zwei', null, true] } }), snap: { value: 'closed', context: { unusual: { a: 1 } } } };
    const bytes = encodeTicketDoc(odd);
    // The same module loaded anew: nothing learned from the first encoder carries over.
    vi.resetModules();
    const fresh = await import('../../src/store/ticket-codec.js');
    expect(fresh.decodeTicketDoc).not.toBe(decodeTicketDoc);
    expect(asJson(fresh.decodeTicketDoc(bytes))).toEqual(asJson(odd));
    // And the first encoder did not start sharing the new shapes: its output for a known document is unchanged.
    expect(encodeTicketDoc(docs[0]!.doc).equals(fresh.encodeTicketDoc(docs[0]!.doc))).toBe(true);
  });

  it('hands out a buffer of its own, not one a later write overwrites', () => {
    const first = encodeTicketDoc(docs[0]!.doc);
    const copy = Buffer.from(first);
    for (const { doc } of docs.slice(1, 50)) encodeTicketDoc(doc);
    expect(first.equals(copy)).toBe(true);
  });

  it('reads a document written with format 0x03 byte for byte as it was written (the table of shapes must never change)', () => {
    // A P1 uvo ticket from BY as created at T0, written by this format's first version.
    const v3 = Buffer.from(
      'A0MBy0J5yytggAAARKVleHQtMalwaG9uZS0xMTXUAACsZmFtaWxpZS1raW5koVOhRJBFS6NuZXdGpXRrdC0xR6N1dm+iQlmpdGVjaG5pY2Fsp2Rlc2stQlmkaGlnaKRo' +
        'aWdoolAxAadkZXNrLUJZTqdkZXNrLUJZkadkZXNrLUJZwMtCecsrYIAAAMtCecsrYIAAAMDASJJBrWZpcnN0UmVzcG9uc2UBp2Rlc2stQlmiUDGlUFQzME3LQnnLK2CA' +
        'AADOABt3QMs/6ZmZmZmZmgCQy0J5yyzAEAAAy0J5yy0X9AAAwMLCQapyZXNvbHV0aW9uAadkZXNrLUJZolAxpFBUNEjLQnnLK2CAAADOANu6AMs/6ZmZmZmZmgCQy0J5' +
        'yzZdAAAAy0J5yzkcIAAAwMLCwJCQSad3YXJuaW5ny0J5yyzAEAAArWZpcnN0UmVzcG9uc2UBAQ==',
      'base64',
    );
    const doc = decodeTicketDoc(v3) as { upd: number; data: Record<string, unknown>; snap: { value: unknown; context: { facts: unknown; createdBy: string; priority: string; sla: { clocks: { name: string; dueAt: number }[] }; timer: unknown } } };
    expect(doc.upd).toBe(T0);
    expect(Object.keys(doc.data)).toEqual(['externalRef', 'channel', 'ars', 'themeField', 'subject', 'description', 'attachments']);
    expect(doc.data).toMatchObject({ externalRef: 'ext-1', subject: 'S', description: 'D', attachments: [] });
    expect(doc.snap.context.facts).toEqual({ service: 'uvo', land: 'BY', category: 'technical' });
    expect(doc.snap.context.createdBy).toBe('desk-BY');
    expect(doc.snap.value).toEqual({ level1: 'new' });
    expect(doc.snap.context.priority).toBe('P1');
    expect(doc.snap.context.sla.clocks.map((c) => [c.name, c.dueAt - T0])).toEqual([['firstResponse', 30 * MINUTE], ['resolution', 240 * MINUTE]]);
    expect(doc.snap.context.timer).toEqual({ kind: 'warning', at: T0 + 24 * MINUTE, clock: 'firstResponse', epoch: 1 });
    // And the same document is still written the same way.
    expect(encodeTicketDoc(doc).equals(v3)).toBe(true);
  });

  it('reads a document written with format 0x02, in the old shape with the facts also in data, with each fact once (in the context)', () => {
    // The same ticket as written by format 0x02: land, service, category, createdBy, receivedAt and createdAt in `data` and in the context.
    const v2 = Buffer.from(
      'AkMBy0J5yytggAAARKVleHQtMalwaG9uZS0xMTWiQlnUAACjdXZvrGZhbWlsaWUta2luZKl0ZWNobmljYWyhU6FEkKdkZXNrLUJZ' +
        'y0J5yytggAAAy0J5yytggAAARUujbmV3RqV0a3QtMUejdXZvokJZqXRlY2huaWNhbKdkZXNrLUJZpGhpZ2ikaGlnaKJQMQGnZGVz' +
        'ay1CWU6nZGVzay1CWZGnZGVzay1CWcDLQnnLK2CAAADLQnnLK2CAAADAwEiSQa1maXJzdFJlc3BvbnNlAadkZXNrLUJZolAxpVBU' +
        'MzBNy0J5yytggAAAzgAbd0DLP+mZmZmZmZoAkMtCecsswBAAAMtCecstF/QAAMDCwkGqcmVzb2x1dGlvbgGnZGVzay1CWaJQMaRQ' +
        'VDRIy0J5yytggAAAzgDbugDLP+mZmZmZmZoAkMtCecs2XQAAAMtCecs5HCAAAMDCwsCQkEmnd2FybmluZ8tCecsswBAAAK1maXJzdFJlc3BvbnNlAQE=',
      'base64',
    );
    const doc = decodeTicketDoc(v2) as { upd: number; data: Record<string, unknown>; snap: { value: unknown; context: { facts: unknown; createdBy: string; receivedAt: number; createdAt: number; priority: string; sla: { clocks: { name: string; dueAt: number }[] }; timer: unknown } } };
    expect(doc.upd).toBe(T0);
    expect(doc.data).toEqual({ externalRef: 'ext-1', channel: 'phone-115', themeField: 'familie-kind', subject: 'S', description: 'D', attachments: [] });
    expect(doc.snap.context.facts).toEqual({ service: 'uvo', land: 'BY', category: 'technical' });
    expect([doc.snap.context.createdBy, doc.snap.context.receivedAt, doc.snap.context.createdAt]).toEqual(['desk-BY', T0, T0]);
    expect(doc.snap.value).toEqual({ level1: 'new' });
    expect(doc.snap.context.priority).toBe('P1');
    expect(doc.snap.context.sla.clocks.map((c) => [c.name, c.dueAt - T0])).toEqual([['firstResponse', 30 * MINUTE], ['resolution', 240 * MINUTE]]);
    expect(doc.snap.context.timer).toEqual({ kind: 'warning', at: T0 + 24 * MINUTE, clock: 'firstResponse', epoch: 1 });
    // Written again, it takes the current format, smaller by the facts no longer kept twice, and reads back the same.
    const again = encodeTicketDoc(doc);
    expect(again[0]).toBe(0x03);
    expect(again.length).toBeLessThan(v2.length);
    expect(asJson(decodeTicketDoc(again))).toEqual(asJson(doc));
  });

  it('still reads the formats written before: deflated JSON with the preset dictionary (0x01) and plain JSON', () => {
    const doc = asJson(docs[3]!.doc);
    expect(decodeTicketDoc(Buffer.from(JSON.stringify(doc)))).toEqual(doc);
    // A plain JSON document in the old shape, the facts in `data` too: they read back only in the context.
    const old = asJson(docs[3]!.doc) as { data: Record<string, unknown>; snap: { context: { facts: Record<string, unknown>; createdBy: string; receivedAt: number; createdAt: number } } };
    const { createdBy, receivedAt, createdAt } = old.snap.context;
    const oldShape = { ...old, data: { ...old.data, ...old.snap.context.facts, createdBy, receivedAt, createdAt } };
    expect(oldShape.data).toHaveProperty('land');
    expect(decodeTicketDoc(Buffer.from(JSON.stringify(oldShape)))).toEqual(old);
    // A 0x01 document exactly as the earlier version wrote it (raw deflate with its dictionary).
    const v1 = Buffer.from('AUPPAAYIoKOUl18C8k5BTmJmnlItAA==', 'base64');
    expect(decodeTicketDoc(v1)).toEqual({ mv: 1, upd: 1700000000000, note: 'plain' });
    expect(() => decodeTicketDoc(Buffer.of(0x07, 1, 2))).toThrow(/unknown ticket document format 7/);
  });
});
