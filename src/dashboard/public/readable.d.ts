// Types of readable.js for the tests that import it (the browser loads the JavaScript as it is).
export interface DeadLike { id: string; reason?: string; attempts?: number; lastStatus?: number | null; channel?: string }
export declare function deadChannel(d: DeadLike): 'webhook' | 'mail' | 'connector';
export declare const channelText: (d: DeadLike) => string;
export declare function deadReason(d: DeadLike): { cause: string; text: string; raw: string };
export declare function queueLabel(name: string, orgName: (id: string) => string): string;
export declare const mailWord: (part: 'kind' | 'rule' | 'match', code: string | undefined) => string;
export declare function mailOutcome(code: string): string;
export declare const mailParty: (party: string | null, orgName: (id: string) => string) => string;
export declare function viaText(via: Record<string, string | number | boolean> | undefined): string | null;
export declare function fieldErrorText(e: { path?: string; message?: string }, label: string): string;
