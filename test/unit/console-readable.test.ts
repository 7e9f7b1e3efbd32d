import { describe, expect, it } from 'vitest';
import { channelText, deadReason, fieldErrorText, mailOutcome, mailParty, mailWord, queueLabel, viaText } from '../../src/dashboard/public/readable.js';

const names: Record<string, string> = { dataport: 'Dataport AöR' };
const orgName = (id: string) => names[id] ?? id;

describe('stored codes in German words (the console)', () => {
  it('says a dead letter\'s reason in German from its stored fields', () => {
    expect(deadReason({ id: 'e1', reason: 'HTTP 500; gave up after 3 attempts', attempts: 3, lastStatus: 500 }).text).toBe('Empfänger antwortete mit Fehler (HTTP 500) · nach 3 Versuchen aufgegeben');
    expect(deadReason({ id: 'e2', reason: 'network error UND_ERR_SOCKET; gave up after 3 attempts', attempts: 3, lastStatus: null }).text).toBe('keine Verbindung zum Empfänger (UND_ERR_SOCKET) · nach 3 Versuchen aufgegeben');
    expect(deadReason({ id: 'e3', reason: 'timeout after 10000 ms; gave up after 1 attempts', attempts: 1, lastStatus: null }).text).toBe('keine Antwort binnen 10 s · nach 1 Versuch aufgegeben');
    expect(deadReason({ id: 'e4', reason: 'endpoint disabled (410)', attempts: 0, lastStatus: 410 }).text).toBe('Empfänger hat den Endpunkt abgeschaltet (HTTP 410) · nicht versucht');
    expect(deadReason({ id: 'e5', reason: 'something new', attempts: 2, lastStatus: null })).toEqual({ cause: 'Zustellung gescheitert', text: 'Zustellung gescheitert · nach 2 Versuchen aufgegeben', raw: 'something new' });
  });

  it('names the channel of a dead letter, from the field or the id', () => {
    expect(channelText({ id: 'e1' })).toBe('Webhook');
    expect(channelText({ id: 'mail-e1' })).toBe('Mail');
    expect(channelText({ id: 'x', channel: 'connector' })).toBe('Ticketsystem');
  });

  it('names queues in German, per-organisation ones with the organisation', () => {
    expect(queueLabel('mail', orgName)).toBe('Mail-Versand');
    expect(queueLabel('connector', orgName)).toBe('Andere Ticketsysteme');
    expect(queueLabel('handoff-dataport', orgName)).toBe('Übergaben Dataport AöR');
    expect(queueLabel('something', orgName)).toBe('something');
  });

  it('says the mail log in words', () => {
    expect(mailWord('kind', 'auto-reply')).toBe('automatische Antwort');
    expect(mailWord('rule', 'no-automation-mark')).toBe('ohne Kennzeichen einer automatischen Mail');
    expect(mailWord('match', 'message-id')).toBe('über die Message-ID');
    expect(mailOutcome('ACCEPT+RESOLVE')).toBe('Annahme übernommen, Lösung übernommen');
    expect(mailOutcome('refused (quota)')).toBe('nicht gesendet: Tageskontingent erschöpft');
    expect(mailOutcome('ignored (list mail)')).toBe('nicht übernommen');
    expect(mailParty('dataport', orgName)).toBe('Dataport AöR');
    expect(mailParty('reporter', orgName)).toBe('meldende Person');
  });

  it('says where a remote change came from', () => {
    expect(viaText({ channel: 'connector', system: 'rt', remoteId: 4711, change: 88, remoteType: 'Status', matchedBy: 'correlation' })).toBe('aus Request Tracker, Ticket #4711 · Änderung 88 · über die verknüpfte Ticketnummer zugeordnet');
    expect(viaText({ channel: 'connector', system: 'rt', remoteId: 9, refused: true })).toBe('aus Request Tracker, Ticket #9 · in Lotse nicht anwendbar, als Notiz festgehalten');
    expect(viaText(undefined)).toBeNull();
  });

  it('says a field error in German, naming the field', () => {
    expect(fieldErrorText({ path: 'reason', message: 'Invalid input: expected string, received undefined' }, 'Begründung')).toBe('Begründung fehlt');
    expect(fieldErrorText({ path: 'text', message: 'Too small: expected string to have >=1 characters' }, 'Notiz')).toBe('Notiz fehlt');
    expect(fieldErrorText({ path: 'text', message: 'Too big: expected string to have <=5000 characters' }, 'Notiz')).toBe('Notiz ist zu lang');
    expect(fieldErrorText({ path: 'assignee', message: 'unknown organisation' }, 'Organisation')).toBe('Organisation: unbekannte Organisation');
  });
});
