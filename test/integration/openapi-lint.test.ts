import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConfig, lintFromString, type NormalizedProblem } from '@redocly/openapi-core';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/harness.js';

/**
 * The OpenAPI document the real app serves, as people generating clients
 * take it: Redocly's recommended rules find nothing in it, and the types
 * openapi-typescript generates from it compile in a small typed client.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let h: Harness;
let source: string;

beforeAll(async () => {
  h = await createHarness();
  const res = await (await h.app()).inject({ method: 'GET', url: '/docs', headers: { accept: 'application/json' } });
  expect(res.statusCode).toBe(200);
  source = res.body;
});
afterAll(async () => h.close());

async function lint(text: string): Promise<string[]> {
  const config = await createConfig({ extends: ['recommended'] });
  const problems: NormalizedProblem[] = await lintFromString({ source: text, absoluteRef: join(ROOT, 'openapi.json'), config });
  return problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} (${p.location[0]?.pointer ?? '?'})`);
}

describe("Redocly's recommended rules", () => {
  it('find no error and no warning in the document', async () => {
    expect(await lint(source)).toEqual([]);
  });

  it('do find a fault put into it (the lint is not empty-handed by design)', async () => {
    const doc = JSON.parse(source) as { servers?: unknown; paths: Record<string, Record<string, { operationId?: string }>> };
    delete doc.servers;
    delete doc.paths['/v1/tickets']!.post!.operationId;
    const found = await lint(JSON.stringify(doc));
    expect(found).toEqual(expect.arrayContaining([expect.stringMatching(/^error no-empty-servers/), expect.stringMatching(/^warn operation-operationId: .*~1v1~1tickets\/post\//)]));
  });
});

/**
 * A client of a desk, written against the generated types only. Wrong
 * bodies must not compile (`@ts-expect-error`), so types that degraded to
 * `any` or `unknown` fail the test too.
 */
const CLIENT = `
import type { operations, paths } from './lotse.js';

type Json<R> = R extends { content: { 'application/json': infer B } } ? B : never;
type CreateTicketBody = Json<operations['createTicket']['requestBody']>;
type Ticket = Json<operations['getTicket']['responses'][200]>;
type TicketEvent = Json<operations['applyTicketEvent']['requestBody']>;
type Problem = Json<operations['getTicket']['responses'][404]>;
type TicketPage = Json<operations['listTickets']['responses'][200]>;

export class LotseClient {
  constructor(private readonly base: string, private readonly key: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T | Problem> {
    const res = await fetch(this.base + path, {
      method,
      headers: { authorization: 'Bearer ' + this.key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return (await res.json()) as T | Problem;
  }

  createTicket(body: CreateTicketBody) {
    return this.call<Ticket>('POST', '/v1/tickets', body);
  }
  getTicket(id: paths['/v1/tickets/{id}']['get']['parameters']['path']['id']) {
    return this.call<Ticket>('GET', '/v1/tickets/' + encodeURIComponent(id));
  }
  listTickets(query: NonNullable<operations['listTickets']['parameters']['query']>) {
    const params = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
    return this.call<TicketPage>('GET', '/v1/tickets?' + params.toString());
  }
  applyTicketEvent(id: string, event: TicketEvent) {
    return this.call<Ticket>('POST', '/v1/tickets/' + encodeURIComponent(id) + '/events', event);
  }
}

export const isProblem = (answer: object): answer is Problem => 'type' in answer && 'status' in answer && 'detail' in answer;
export const line = (t: Ticket): string => t.id + ' v' + t.version + ' ' + t.status + ' ' + t.priority + (t.level === null ? '' : ' L' + t.level);
export const why = (p: Problem): string => p.status + ' ' + p.title + ': ' + p.detail + (p.errors ?? []).map((e) => ' ' + e.path + ': ' + e.message).join('');

export const body: CreateTicketBody = {
  externalRef: 'ext-1', channel: 'phone-115', land: 'BY', service: 'uvo', category: 'technical',
  impact: 'medium', urgency: 'medium', subject: 'Antrag lässt sich nicht absenden', description: 'Beim Absenden erscheint ein Fehler.',
};
// @ts-expect-error impact is one of the grades
export const badGrade: CreateTicketBody = { ...body, impact: 'enormous' };
// @ts-expect-error subject is required
export const noSubject: CreateTicketBody = { externalRef: 'ext-2', channel: 'phone-115', land: 'BY', service: 'uvo', category: 'technical', impact: 'low', urgency: 'low', description: 'x' };
// @ts-expect-error a ticket's version is a number
export const badVersion: Ticket['version'] = 'one';

/** Every operation has a name a generated client can call it by. */
export const operationNames: (keyof operations)[] = [
  'createTicket', 'getTicket', 'listTickets', 'applyTicketEvent', 'getTicketHistory', 'getTicketSla', 'eraseTicketPersonalData',
  'listBacklogItems', 'getBacklogItem', 'applyBacklogEvent', 'listDeadLetters', 'getDeadLetter', 'replayDeadLetter',
  'getStats', 'getCostSplitReport', 'streamEvents', 'getLiveness', 'getReadiness', 'getMetrics',
  'getOpenApiDocument', 'getAsyncApiDocument', 'getDashboard', 'getQueueBoard',
];
`;

describe('a client generated with openapi-typescript', () => {
  it('compiles with the TypeScript compiler, wrong bodies refused', { timeout: 60_000 }, async () => {
    const types = astToString(await openapiTS(JSON.parse(source) as Parameters<typeof openapiTS>[0]));
    mkdirSync(join(ROOT, '.build'), { recursive: true });
    const dir = mkdtempSync(join(ROOT, '.build', 'openapi-client-'));
    try {
      writeFileSync(join(dir, 'lotse.ts'), types);
      writeFileSync(join(dir, 'client.ts'), CLIENT);
      const program = ts.createProgram([join(dir, 'client.ts')], {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
        types: [],
        strict: true,
        noUncheckedIndexedAccess: true,
        noEmit: true,
      });
      const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
        const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
        return `${d.file ? d.file.fileName.slice(dir.length + 1) : ''}${at ? `:${at.line + 1}` : ''} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
      expect(diagnostics).toEqual([]);
      // The generated types name every operation of the document.
      const operationIds = Object.values(JSON.parse(source).paths as Record<string, Record<string, { operationId: string }>>).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
      for (const id of operationIds) expect(types, id).toContain(`${id}: {`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
