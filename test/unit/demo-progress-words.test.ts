import { describe, expect, it } from 'vitest';
import { renderProgress, zeroCounters } from '../../src/demo/progress.js';

const line = (created: number, handoffs: number, width = Infinity) =>
  renderProgress({ officeMs: Date.UTC(2026, 11, 7, 8, 42), counters: { ...zeroCounters(), created, handoffs, answered: 0 }, api: undefined, capped: undefined }, width);

describe('the demo progress line in German', () => {
  it('says one in the singular and more in the plural', () => {
    expect(line(1, 1)).toContain('1 Ticket angelegt');
    expect(line(1, 1)).toContain('1 Übergabe (0 beantwortet)');
    expect(line(1, 1)).not.toMatch(/\b1 (Tickets|Übergaben)\b/);
    expect(line(2, 3)).toContain('2 Tickets angelegt');
    expect(line(2, 3)).toContain('3 Übergaben (0 beantwortet)');
    expect(line(0, 0)).toContain('0 Übergaben');
  });

  it('keeps the number in the short line too', () => {
    expect(line(1, 1, 40)).toMatch(/1 Übergabe$/);
    expect(line(5, 2, 40)).toMatch(/2 Übergaben$/);
  });
});
