import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, type FieldError } from '../errors.js';

/** Deeper than any body Lotse accepts; refused before parsing so a nested bomb costs one scan. */
export const MAX_JSON_DEPTH = 32;

/** Nesting depth of a JSON text, counted outside strings; stops counting once past `limit`. */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Paths of the strings (and keys) holding U+FFFD after a lossy decode: where the invalid bytes were. */
export function replacedPaths(value: unknown, path: string[] = [], out: string[] = []): string[] {
  if (out.length >= 10) return out;
  if (typeof value === 'string') {
    if (value.includes('\ufffd')) out.push(path.join('.'));
  } else if (Array.isArray(value)) value.forEach((v, i) => replacedPaths(v, [...path, String(i)], out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\ufffd')) out.push([...path, k].join('.'));
      else replacedPaths(v, [...path, k], out);
    }
  }
  return out;
}

function invalidUtf8(text: string): AppError {
  let paths: string[] = [];
  try {
    paths = replacedPaths(JSON.parse(text));
  } catch {
    // not even JSON once decoded: the body as a whole
  }
  const errors: FieldError[] = (paths.length > 0 ? paths : ['']).map((path) => ({ path, message: 'not valid UTF-8' }));
  return new AppError('BAD_REQUEST', 'The body is not valid UTF-8', { errors });
}

/** Paths of `__proto__` keys and of `constructor` objects holding `prototype`: keys that would poison objects downstream. */
export function poisonedPaths(value: unknown, path: string[] = [], out: string[] = []): string[] {
  if (out.length >= 10 || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    value.forEach((v, i) => poisonedPaths(v, [...path, String(i)], out));
    return out;
  }
  for (const [k, v] of Object.entries(value)) {
    const here = [...path, k];
    if (k === '__proto__') out.push(here.join('.'));
    else if (k === 'constructor' && v !== null && typeof v === 'object' && Object.hasOwn(v, 'prototype')) out.push(here.join('.'));
    else poisonedPaths(v, here, out);
  }
  return out;
}

/** JSON.parse makes `__proto__` an own key (no pollution); such keys are then refused by name. */
function parseJson(text: string): unknown {
  if (text.length === 0) throw new AppError('MALFORMED_JSON', 'The body is empty but declared as JSON', { errors: [{ path: '', message: 'empty' }] });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError('MALFORMED_JSON', 'The body is not valid JSON', { errors: [{ path: '', message: 'not valid JSON' }] });
  }
  const poisoned = poisonedPaths(value);
  if (poisoned.length > 0) {
    throw new AppError('MALFORMED_JSON', 'The body contains a forbidden __proto__ or constructor.prototype key', {
      errors: poisoned.map((path) => ({ path, message: 'forbidden key' })),
    });
  }
  return value;
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

/**
 * Replaces Fastify's JSON parser with one that refuses what it would let
 * through silently: bytes that are not UTF-8 (Node's decoder turns them into
 * U+FFFD), a charset other than UTF-8, a Content-Encoding (nothing here
 * decodes gzip), nesting deeper than any body Lotse takes, and `__proto__`
 * or `constructor.prototype` keys, each refusal naming where.
 */
export function installJsonParser(app: FastifyInstance, bodyLimit: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (req: FastifyRequest, body: Buffer | string, done) => {
    const charset = CHARSET.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset && charset !== 'utf-8' && charset !== 'utf8') {
      return done(new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send application/json in UTF-8', { errors: [{ path: 'headers.content-type', message: `charset ${charset.slice(0, 40)} is not accepted; use utf-8` }] }), undefined);
    }
    const encoding = req.headers['content-encoding'];
    if (encoding && encoding.toLowerCase() !== 'identity') {
      return done(new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the body without Content-Encoding', { errors: [{ path: 'headers.content-encoding', message: 'not accepted' }] }), undefined);
    }
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const text = bytes.toString('utf8');
    if (!isUtf8(bytes)) return done(invalidUtf8(text), undefined);
    if (jsonDepth(text) > MAX_JSON_DEPTH) {
      return done(new AppError('BAD_REQUEST', `The body is nested deeper than ${MAX_JSON_DEPTH} levels`, { errors: [{ path: '', message: `nested deeper than ${MAX_JSON_DEPTH} levels` }] }), undefined);
    }
    try {
      done(null, parseJson(text));
    } catch (err) {
      done(err as AppError, undefined);
    }
  });
}
