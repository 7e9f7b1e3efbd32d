import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  deskCreatesOnItsOwnQueue,
  forgedOrgIdFails,
  openQueueAclWorld,
  providerAnswersAsItself,
  refusedEverythingElse,
  type QueueAclWorld,
} from '../helpers/queue-acl.js';

// Issue 18 item 1 on a real three-master Redis Cluster: every node loads the ACL file `lotse redis-acl`
// printed, Lotse and each organisation connect as their own users through ioredis Cluster clients
// (user and password in the redis+cluster:// URL), and the {hash tag} prefix keeps every queue in one slot.
let w: QueueAclWorld;
beforeAll(async () => {
  w = await openQueueAclWorld({ cluster: true });
}, 60_000);
afterAll(() => w?.close());

describe('queue ACLs on a Redis Cluster', () => {
  it('a desk adds on intake-<desk> and answers on events-<desk> as itself; Redis refuses none of it', () => deskCreatesOnItsOwnQueue(w));
  it('a provider takes its handoff and answers through the kit as itself; Redis refuses none of it', () => providerAnswersAsItself(w));
  it('a forged orgId fails the job, for a desk and for a provider', async () => {
    await forgedOrgIdFails(w, 'desk-BY');
    await forgedOrgIdFails(w, 'dataport');
  });
  it('a desk is refused other queues, tickets, sessions and the stream', () =>
    refusedEverythingElse(w, 'desk-BY', { add: ['intake-desk-HB', 'intake', 'events'], read: ['handoff-dataport', 'intake-desk-HB'] }));
  it('a provider is refused other queues, tickets, sessions and the stream', () =>
    refusedEverythingElse(w, 'dataport', { add: ['events', 'events-desk-BY', 'handoff-it-BY'], read: ['handoff-it-BY', 'intake-desk-BY'] }));
});
