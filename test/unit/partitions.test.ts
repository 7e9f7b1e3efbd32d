import { describe, expect, it } from 'vitest';
import calculateSlot from 'cluster-key-slot';
import { LAND_CODES } from '../../src/domain/ids.js';
import { decodePositions, encodePositions, idInPartition, makeLayout, partitionOfId, partitionOfLand, partitionOfService } from '../../src/domain/partitions.js';
import { loadTopology } from '../../src/config/topology-file.js';

const defaultTopology = loadTopology(undefined);
import { newTicketId, TICKET_ID_PATTERN } from '../../src/engine/ticket/index.js';
import { ticketIdFromSubject, subjectTag } from '../../src/mail/ids.js';
import { partitionPrefixCandidate, slotOfPrefix } from '../../src/store/partitions.js';

describe('partitions: ids, Länder and prefixes', () => {
  it('names a ticket\'s partition in its id, and reads it back; partition 0 ids are as they always were', () => {
    const id = newTicketId(Date.now());
    expect(idInPartition(id, 0)).toBe(id);
    expect(partitionOfId(id)).toBe(0);
    for (const p of [1, 2, 9, 63]) {
      const own = idInPartition(id, p);
      expect(own).toBe(`${id}-${p}`);
      expect(partitionOfId(own)).toBe(p);
      expect(own).toMatch(TICKET_ID_PATTERN);
      // Mail finds it in a subject tag as it finds any ticket id.
      expect(ticketIdFromSubject(`Re: ${subjectTag(own)} Frage`)).toBe(own);
    }
    // Ids of one moment sort by time whatever their partition.
    const later = newTicketId(Date.now() + 1000);
    expect([idInPartition(later, 2), idInPartition(id, 1)].sort()).toEqual([idInPartition(id, 1), idInPartition(later, 2)]);
  });

  it('puts every Land in one partition, the same every time, and all partitions in use with three', () => {
    expect(LAND_CODES.map((l) => partitionOfLand(l, 1))).toEqual(LAND_CODES.map(() => 0));
    const three = LAND_CODES.map((l) => partitionOfLand(l, 3));
    expect(three.slice(0, 4)).toEqual([0, 1, 2, 0]);
    expect([0, 1, 2].map((p) => three.filter((x) => x === p).length)).toEqual([6, 5, 5]);
    // A layout whose count is smaller than an id's partition looks for it in 0 (where it is not found).
    expect(makeLayout(['a', 'b']).ofId('T0000000000000000000A-5')).toBe(0);
  });

  it('spreads the services\' backlogs over the partitions, the same every time', () => {
    const services = [...defaultTopology.services.keys()];
    const three = services.map((s) => partitionOfService(s, 3));
    expect(three).toEqual(services.map((s) => partitionOfService(s, 3)));
    // The default topology's seven services: every partition gets some.
    expect(new Set(three)).toEqual(new Set([0, 1, 2]));
    expect(services.every((s) => partitionOfService(s, 1) === 0)).toBe(true);
  });

  it('gives partitions ≥ 1 a hash tag of their own inside the deployment prefix\'s', () => {
    expect(partitionPrefixCandidate('{lotse}', 1, 0)).toBe('{lotse-p1}');
    expect(partitionPrefixCandidate('{lotse}', 2, 3)).toBe('{lotse-p2-3}');
    expect(partitionPrefixCandidate('app:{lotse}', 1, 0)).toBe('app:{lotse-p1}');
    expect(partitionPrefixCandidate('lotse', 1, 0)).toBe('lotse-p1');
    expect(slotOfPrefix('{lotse-p1}')).toBe(calculateSlot('{lotse-p1}:t:T1'));
    expect(slotOfPrefix('{lotse-p1}')).not.toBe(slotOfPrefix('{lotse}'));
  });

  it('holds one stream position per partition in one Last-Event-ID, missing ones from the start', () => {
    expect(encodePositions(['1-0'])).toBe('1-0');
    expect(encodePositions(['1-0', '2-3', '0-0'])).toBe('1-0_2-3_0-0');
    expect(decodePositions('1-0_2-3_0-0', 3)).toEqual(['1-0', '2-3', '0-0']);
    // An id from before the count was raised: partition 0's position, the new partitions from their start.
    expect(decodePositions('17-1', 3)).toEqual(['17-1', '0-0', '0-0']);
  });
});
