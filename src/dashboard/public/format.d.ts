// Types of format.js for the tests that import it (the browser loads the JavaScript as it is).
export declare const fmtDateTime: (iso: string | null | undefined) => string;
export declare const fmtTime: (d: Date) => string;
export declare const fmtNumber: (n: number) => string;
export declare function fmtBusiness(ms: number): string;
export declare function businessLeft(msLeft: number, dueAt: string, now: number, atOpening: string): { text: string; due: boolean };
export declare const shortId: (id: string) => string;
