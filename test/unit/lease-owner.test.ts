/** Local lease owners: their format, and what a new run does about a lease one of them holds. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { localOwnerId, parseLocalOwner } from '../../lambdas/core/lease-owner.js';
import { leaseVerdict, processAlive } from '../../local/leases.js';

describe('local lease owners', () => {
  it('round-trips host and pid, with or without what a caller appends', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9.-]{1,30}$/), fc.integer({ min: 1, max: 4_194_304 }), fc.stringMatching(/^[a-z0-9:-]{0,40}$/), (host, pid, suffix) => {
        const id = localOwnerId({ host, pid }, 'ab12cd34');
        expect(parseLocalOwner(id + (suffix ? `:${suffix}` : ''))).toEqual({ host, pid });
      }),
    );
  });

  it.each([['lambda-1a2b3c4d:req-1'], ['local-1a2b3c4d:direct'], ['local@host:0:x'], ['local@host:12'], [undefined]])('is not a local owner: %s', (owner) => {
    expect(parseLocalOwner(owner)).toBeUndefined();
  });
});

describe('leaseVerdict', () => {
  const here = { host: 'h1', pid: 100 };
  const alive = (pid: number) => pid === 200;
  it.each([
    ['a dead process of this host', 'local@h1:300:x:req', 'take-over'],
    ['a live process of this host', 'local@h1:200:x:req', 'wait'],
    ['this process', 'local@h1:100:x:req', 'own-process'],
    ['a process of another host (its pid says nothing here)', 'local@h2:300:x:req', 'wait'],
    ['a Lambda', 'lambda-1a2b3c4d:req', 'wait'],
  ] as const)('%s → %s', (_name, owner, verdict) => {
    expect(leaseVerdict(owner, here, alive)).toBe(verdict);
  });

  it('tells a live process from a gone one', () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(2 ** 22 + 1)).toBe(false); // above Linux's pid_max
  });
});
