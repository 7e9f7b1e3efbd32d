/** html-to-text ships no types; Lotse uses its one function (the same library mailparser uses). */
declare module 'html-to-text' {
  export function convert(html: string, options?: Record<string, unknown>): string;
}
