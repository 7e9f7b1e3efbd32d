import { describe, expect, it } from 'vitest';
import { commitManyArgs, createGroupCommit, hashTagOf, MAX_GROUP_COMMIT, type CommitCall, type CommitReply } from '../../src/store/group-commit.js';

/** How the group commit batches, with its two calls recorded (Redis itself: test/integration/group-commit.test.ts). */
function recorder(maxBatch: number, answer: (call: CommitCall) => CommitReply = () => ['OK']) {
  const sent: string[][] = [];
  const ids = (calls: CommitCall[]) => calls.map((c) => String(c.args[0]));
  const group = createGroupCommit({
    one: async (call) => (sent.push(ids([call])), answer(call)),
    many: async (calls) => (sent.push(ids(calls)), calls.map(answer)),
    maxBatch,
  });
  return { group, sent };
}
const call = (id: string, key = `p:t:${id}`): CommitCall => ({ keys: [key, `${key}:h`], args: [id, 1] });

describe('group commit', () => {
  it('sends the commits of one turn as one group, in order; a lone commit alone', async () => {
    const { group, sent } = recorder(32);
    await Promise.all(['a', 'b', 'c'].map((id) => group.commit(call(id))));
    await group.commit(call('d'));
    expect(sent).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('sends a full group at once: no group holds more than maxBatch', async () => {
    const { group, sent } = recorder(2);
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => group.commit(call(id))));
    expect(sent).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('keeps commits of different hash tags (Redis Cluster slots) in different groups', async () => {
    const { group, sent } = recorder(32);
    await Promise.all([call('a', '{p0}:t:a'), call('b', '{p1}:t:b'), call('c', '{p0}:t:c')].map((c) => group.commit(c)));
    expect(sent).toEqual([['a', 'c'], ['b']]);
    expect([hashTagOf('{p0}:t:a'), hashTagOf('lotse:t:a'), hashTagOf('{}:t'), hashTagOf(Buffer.from('{x}y'))]).toEqual(['p0', '', '', 'x']);
  });

  it("fails only the commit whose answer is an error; a failed call fails its whole group", async () => {
    const { group } = recorder(32, (c) => (c.args[0] === 'b' ? ['ERR', 'WRONGTYPE Operation against a key holding the wrong kind of value'] : ['OK']));
    const settled = await Promise.allSettled(['a', 'b', 'c'].map((id) => group.commit(call(id))));
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value[0] : (s.reason as Error).message))).toEqual(['OK', 'WRONGTYPE Operation against a key holding the wrong kind of value', 'OK']);
    const down = createGroupCommit({ one: () => Promise.reject(new Error('down')), many: () => Promise.reject(new Error('down')), maxBatch: 8 });
    const both = await Promise.allSettled([down.commit(call('a')), down.commit(call('b'))]);
    expect(both.map((s) => s.status)).toEqual(['rejected', 'rejected']);
  });

  it("lays out COMMIT_MANY's arguments: all keys, then the count and each commit's sizes and arguments", () => {
    expect(commitManyArgs([call('a'), { keys: ['k'], args: [] }])).toEqual([3, 'p:t:a', 'p:t:a:h', 'k', 2, 2, 2, 'a', 1, 1, 0]);
  });

  it('refuses a maxBatch outside 1..MAX_GROUP_COMMIT', () => {
    for (const bad of [0, MAX_GROUP_COMMIT + 1, 1.5]) expect(() => createGroupCommit({ one: async () => ['OK'], many: async () => [], maxBatch: bad })).toThrow(/maxBatch/);
  });
});
