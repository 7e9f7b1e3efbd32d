import type { FastifyReply, FastifyRequest } from 'fastify';

/** Everything from this server, nothing inline, nothing framed: the board works on a closed network. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: with no-referrer the browser sends `Origin: null` on our own form posts.
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

/** onRequest hook for the dashboard's and the board's scopes. */
export async function securityHeaders(req: FastifyRequest, reply: FastifyReply) {
  reply.headers(HEADERS);
  // req.protocol believes X-Forwarded-Proto only from a proxy LOTSE_TRUST_PROXY names.
  if (req.protocol === 'https') reply.header('strict-transport-security', 'max-age=31536000');
}

/**
 * The API's browsable page (swagger-ui) gets the board's headers; its own
 * stylesheet sets styles inline, so only styles may be inline there.
 */
export const DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'");

/** onRequest hook for `/docs` and everything under it. */
export async function docsSecurityHeaders(req: FastifyRequest, reply: FastifyReply) {
  await securityHeaders(req, reply);
  reply.header('content-security-policy', DOCS_CONTENT_SECURITY_POLICY);
}
