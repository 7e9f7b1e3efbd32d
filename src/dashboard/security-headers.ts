// The headers live with the HTTP layer, which also gives them to /docs; the board's scopes import them from here.
export { CONTENT_SECURITY_POLICY, securityHeaders } from '../http/security-headers.js';
