import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/http/app.js';
import { bearer, createHarness, ticketBody, type Harness } from '../helpers/harness.js';
import { expectProblem, type Problem } from '../helpers/http.js';

let h: Harness;
let app: App;
let port: number;
const desk = bearer('desk-BY');

beforeAll(async () => {
  h = await createHarness();
  app = await h.app();
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as AddressInfo).port;
});
afterAll(async () => h.close());

/** Sends raw bytes and reads the whole answer until the server closes or answers in full. */
function raw(bytes: Buffer | string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const finish = () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      let body = rest.join('\r\n\r\n');
      if (headers['content-length']) body = Buffer.from(body).subarray(0, Number(headers['content-length'])).toString('utf8');
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    };
    socket.on('data', (c) => {
      chunks.push(c);
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const length = /content-length:\s*(\d+)/i.exec(text)?.[1];
      if (end >= 0 && length !== undefined && Buffer.byteLength(text) >= Buffer.byteLength(text.slice(0, end + 4)) + Number(length)) {
        socket.destroy();
        finish();
      }
    });
    socket.on('close', () => finish());
    socket.on('error', reject);
    socket.write(bytes);
  });
}

/** A raw answer is a problem document with nothing of Fastify or Node in it. */
function expectRawProblem(res: { status: number; headers: Record<string, string>; body: string }, status: number): Problem {
  expect(res.status, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.body) as Problem;
  expect(body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  expectNoInternals(res.body);
  return body;
}

function expectNoInternals(text: string) {
  expect(text).not.toMatch(/FST_|HPE_|ERR_|statusCode|node_modules|\bat .+\.(ts|js):\d+/);
}

describe('errors raised before a route runs are problem documents', () => {
  it('a bad %-escape in the path → 400', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/tickets/%zz', headers: desk });
    expect(expectProblem(res, 400).type).toMatch(/bad-url$/);
    expectNoInternals(res.body);
    expectRawProblem(await raw('GET /v1/tickets/%E0%A4%A HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer dev-desk-BY\r\n\r\n'), 400);
  });

  it('an over-long path parameter → 414', async () => {
    const res = await app.inject({ method: 'GET', url: `/v1/tickets/${'a'.repeat(500)}`, headers: desk });
    expect(expectProblem(res, 414).errors?.[0]?.path).toBe('params');
    expectNoInternals(res.body);
  });

  it('headers larger than the server takes → 431, over the raw socket', async () => {
    const res = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`);
    expect(expectRawProblem(res, 431).type).toMatch(/headers-too-large$/);
  });

  it.each([
    ['an unknown method', 'BREW /v1/tickets HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a broken request line', 'GET /healthz HTTP/9\r\n\r\n'],
    ['a header without a colon', 'GET /healthz HTTP/1.1\r\nHost x\r\n\r\n'],
    ['a control byte in a header', 'GET /healthz HTTP/1.1\r\nHost: x\u0001y\r\n\r\n'],
  ])('%s → 400, over the raw socket', async (_label, request) => {
    expectRawProblem(await raw(request), 400);
  });

  it('a known method on a route without it → 404 problem', async () => {
    expectProblem(await app.inject({ method: 'PATCH', url: '/v1/tickets', headers: desk }), 404);
    expectProblem(await app.inject({ method: 'PUT', url: '/v1/tickets/T1/events', headers: desk, payload: {} }), 404);
  });

  it('a body that is not UTF-8 → 400 naming the field, never silently replaced', async () => {
    const body = JSON.stringify(ticketBody({ subject: 'Antrag XX' }));
    const bytes = Buffer.from(body.replace('XX', '\u0000\u0000'));
    const at = bytes.indexOf(0);
    bytes[at] = 0xc3; // a lead byte followed by NUL: not UTF-8
    bytes[at + 1] = 0x28;
    const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: { ...desk, 'content-type': 'application/json' }, payload: bytes });
    const problem = expectProblem(res, 400);
    expect(problem.errors).toEqual([{ path: 'subject', message: 'not valid UTF-8' }]);
    // The same over a real socket, as raw bytes (development keys answer only a loopback Host).
    const head = `POST /v1/tickets HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer dev-desk-BY\r\nContent-Type: application/json\r\nContent-Length: ${bytes.length}\r\n\r\n`;
    expect(expectRawProblem(await raw(Buffer.concat([Buffer.from(head), bytes])), 400).errors).toEqual([{ path: 'subject', message: 'not valid UTF-8' }]);
    const list = await app.inject({ method: 'GET', url: '/v1/tickets', headers: desk });
    expect(list.json().items).toHaveLength(0);
  });

  it('a charset other than UTF-8 or a Content-Encoding → 415 naming the header', async () => {
    const payload = JSON.stringify(ticketBody());
    const latin = await app.inject({ method: 'POST', url: '/v1/tickets', headers: { ...desk, 'content-type': 'application/json; charset=iso-8859-1' }, payload });
    expect(expectProblem(latin, 415).errors?.[0]?.path).toBe('headers.content-type');
    const gzip = await app.inject({ method: 'POST', url: '/v1/tickets', headers: { ...desk, 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload });
    expect(expectProblem(gzip, 415).errors?.[0]?.path).toBe('headers.content-encoding');
  });

  it('malformed JSON, a wrong type, a body too large: problems without framework codes', async () => {
    for (const [headers, payload, status] of [
      [{ 'content-type': 'application/json' }, '{"a":', 400],
      [{ 'content-type': 'text/csv' }, 'a,b', 415],
      [{ 'content-type': 'application/json' }, JSON.stringify({ d: 'x'.repeat(1_100_000) }), 413],
    ] as const) {
      const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: { ...desk, ...headers }, payload });
      expectProblem(res, status);
      expectNoInternals(res.body);
    }
  });
});
