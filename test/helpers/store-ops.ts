/**
 * StoreOps applied on their own, in one MULTI: for tests. The
 * engine's commit applies the same list inside its Lua script, with the same
 * meaning (ztrim keep N = ZREMRANGEBYRANK key 0 -(N+1): the N highest stay).
 */
import type { Redis } from 'ioredis';
import type { StoreOp } from '../../src/store/ops.js';

export async function applyStoreOps(redis: Redis, ops: readonly StoreOp[]): Promise<void> {
  if (ops.length === 0) return;
  const multi = redis.multi();
  for (const op of ops) {
    switch (op.op) {
      case 'zadd':
        multi.zadd(op.key, op.score, op.member);
        break;
      case 'zrem':
        multi.zrem(op.key, op.member);
        break;
      case 'ztrim':
        multi.zremrangebyrank(op.key, 0, -(op.keep + 1));
        break;
      case 'hincrby':
        multi.hincrby(op.key, op.field, op.by);
        break;
      case 'hdel':
        multi.hdel(op.key, op.field);
        break;
      case 'lset':
        multi.lset(op.key, op.index, op.value);
        break;
      case 'hsetnx':
        multi.hsetnx(op.key, op.field, op.value);
        break;
    }
  }
  const results = await multi.exec();
  if (!results) throw new Error('applyStoreOps: the transaction was aborted');
  for (const [err] of results) if (err) throw err;
}
