/**
 * A source endpoint that reaches another server (a failover): capture records the server its position
 * belongs to at plan time and reads nothing once the endpoint reaches another one (its `server_id` changed
 * on a MariaDB of this file's own); `reshard status` and the catch-up wait say why and what to do; capture
 * goes on by itself when the first server is reached again, and after `accept` with `keep` or `now` (then
 * verification with repair brings back what `now` left out).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../local/runtime.js';
import { seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { parseConfig } from '../../lambdas/core/config.js';
import { ConfigError, SourceChangedError } from '../../lambdas/core/errors.js';
import { acceptSource } from '../../lambdas/app/capture-source.js';
import { acquireCaptureForOperator } from '../../lambdas/app/capture-lease.js';
import { CutoverRefusedError, runCutover } from '../../lambdas/app/cutover.js';
import { migrationStatus } from '../../lambdas/app/status.js';
import { verifyTable } from '../../lambdas/app/verify.js';
import { currentPosition, detectDialect, gtidAt } from '../../lambdas/adapters/binlog/server.js';
import { comparePositions } from '../../lambdas/core/position.js';
import { integrationSuite } from '../helpers/suite.js';
import { ownMariaDb } from '../helpers/db.js';
import { sleep } from '../../lambdas/core/time.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, segments: 2, concurrency: 2, items: false });
// A MariaDB of its own: the test changes its server_id.
const { port, pool: own } = ownMariaDb('failover', 1006);

describe('a source endpoint that reaches another server', () => {
  let rt: LocalRuntime;
  let config: ReturnType<typeof parseConfig>;
  let src: string;
  const owner = 'failover-test';
  const serverId = (id: number) => own().query(`SET GLOBAL server_id = ${id}`);
  /** The endpoint reaches "another server": a capture run started after it records the stop (a run already reading goes on to its end). */
  const failOver = async (id: number) => {
    await serverId(id);
    for (let i = 0; (await rt.store.getCapture(config.migrationId))?.sourceChanged?.now !== `server_id=${id}`; i++) {
      if (i > 200) throw new Error(`capture did not stop for server_id=${id}`);
      await sleep(50);
    }
  };
  const touch = (ids: readonly number[], remark: string) => own().query(`UPDATE ${src} SET remark = ? WHERE id IN (?)`, [remark, ids]);
  const matches = async () => (await checkAll(config, own(), [own()]))[0]!.match;
  /** Waits for the catch-up to be refused for the changed server, and returns the error. */
  const stopped = async (): Promise<Error> => {
    const err = await rt.cdc!.catchUp(60_000).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SourceChangedError);
    return err as Error;
  };

  beforeAll(async () => {
    const base = suite.config('failover', { port });
    config = parseConfig({ ...base, cdc: { enabled: true, serverId: 90_000 + Math.floor(Math.random() * 100_000), applyConcurrency: 2 } });
    src = `\`${config.source.database!}\`.order_info`;
    await seedOrders(own(), config.source.database!, { orders: 400, itemsPerOrder: 0, seed: 23 });
    rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
    rt.cdc!.start();
    await rt.execute().result;
    await rt.cdc!.catchUp(60_000);
  });
  afterAll(async () => {
    await rt?.close();
  });

  /** The GTID position the server itself gives for capture's position. */
  const serversGtid = async () => gtidAt(own(), await detectDialect(own()), (await rt.store.getCapture(config.migrationId))!.position);

  it('records the server and the GTID position at plan time, follows the GTID position, stops before reading another server, and goes on by itself when the first one is back', async () => {
    expect((await rt.store.getCapture(config.migrationId))?.sourceId).toBe('server_id=1');
    await touch([1, 2, 3], 'before the failover');
    await rt.cdc!.catchUp(60_000);
    expect(await matches()).toBe(true);
    // The GTID position capture keeps is the server's own for capture's binlog position.
    const gtid = (await rt.store.getCapture(config.migrationId))!.gtid;
    expect(gtid).toMatch(/^0-1-\d+$/);
    expect(gtid).toBe(await serversGtid());

    await failOver(77);
    const held = (await rt.store.getCapture(config.migrationId))!.position;
    await touch([4, 5], 'on the server reached after the failover');
    const err = await stopped();
    expect(err.message).toMatch(/^capture of source server #0 \(127\.0\.0\.1:\d+\) is stopped at .+: that position is in the binlog of server_id=1, but .+ now reaches server_id=77/);
    expect(err.message).toContain('reshard capture-source accept --server 0 --at FILE:POS');
    // Where to look in the new server's binlog: its GTID position, and when the last change capture sent was written.
    expect(err.message).toContain(`Its GTID position is ${(await rt.store.getCapture(config.migrationId))!.gtid!}.`);
    expect(err.message).toMatch(/The last change capture sent before it was written at \d{4}-\d\d-\d\dT[\d:.]+Z \(source time\)/);
    const state = await rt.store.getCapture(config.migrationId);
    expect(state).toMatchObject({ position: held, sourceId: 'server_id=1', sourceChanged: { was: 'server_id=1', now: 'server_id=77', at: held } });
    await expect(rt.cdc!.drain(30_000)).rejects.toThrow(SourceChangedError);
    expect((await rt.cdc!.lag()).stopped).toEqual([err.message]);
    // The cut-over's precheck refuses, naming the stop.
    const refused = await runCutover(rt.ctx, rt.cutoverDeps(), { dryRun: true }).then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(CutoverRefusedError);
    expect((refused as CutoverRefusedError).issues).toContain(`source ${config.source.host}:${port}: ${err.message}`);
    const view = await migrationStatus(config, rt.store);
    expect(view.sourceChanged).toEqual([{ server: 0, text: expect.stringMatching(/^capture of source server #0 .* now reaches server_id=77/) as unknown }]);
    expect(await matches()).toBe(false); // the two rows changed since were not captured

    await serverId(1);
    // The next capture run finds the first server again and ends the stop itself.
    for (let i = 0; (await rt.store.getCapture(config.migrationId))?.sourceChanged; i++) {
      if (i > 200) throw new Error('capture did not go on with server_id=1 back');
      await sleep(50);
    }
    await rt.cdc!.catchUp(60_000);
    expect((await migrationStatus(config, rt.store)).sourceChanged).toBeUndefined();
    expect(await matches()).toBe(true);
  });

  it('accept --keep goes on at the held position, from the server reached now; nothing is left to accept after', async () => {
    await failOver(78);
    await touch([6, 7], 'kept across the failover');
    await stopped();
    const out = await acceptSource(rt.ctx, { server: 0, at: { keep: true }, owner });
    expect(out).toMatchObject({ server: 0, was: 'server_id=1', now: 'server_id=78', missed: false });
    await rt.cdc!.catchUp(60_000);
    expect(await rt.store.getCapture(config.migrationId)).toMatchObject({ sourceId: 'server_id=78' });
    expect(await matches()).toBe(true);
    await expect(acceptSource(rt.ctx, { server: 0, at: { keep: true }, owner })).rejects.toThrow(ConfigError);
    await expect(acceptSource(rt.ctx, { server: 0, at: { keep: true }, owner })).rejects.toThrow(/reads server_id=78, the server its position .+ belongs to: nothing to accept/);
  });

  it('accept --gtid finds where the changes after the stored GTID position begin on the server reached now; a GTID position it has not got is refused', async () => {
    await failOver(80);
    const held = (await rt.store.getCapture(config.migrationId))!;
    await touch([12, 13], 'after the held GTID position');
    await stopped();
    const beyond = held.gtid!.replace(/-(\d+)$/, (_m, n: string) => `-${Number(n) + 1_000_000}`);
    await expect(acceptSource(rt.ctx, { server: 0, at: { gtid: beyond }, owner })).rejects.toThrow(/this server's binlog has not got every change before GTID 0-\d+-\d+ \(its gtid_binlog_pos is 0-\d+-\d+\)/);
    const out = await acceptSource(rt.ctx, { server: 0, at: { gtid: true }, owner });
    expect(out).toMatchObject({ was: 'server_id=78', now: 'server_id=80', missed: false, gtid: held.gtid });
    // On this server the first group after the held GTID position is the first one after the held position.
    expect(comparePositions(out.position, held.position)).toBeGreaterThanOrEqual(0);
    await rt.cdc!.catchUp(60_000);
    expect(await matches()).toBe(true);
    expect((await rt.store.getCapture(config.migrationId))!.gtid).toBe(await serversGtid());
  });

  it('accept --now goes on at the current position, leaving out the changes in between, which verification with repair brings back', async () => {
    await failOver(81);
    await touch([8, 9, 10], 'made while capture was stopped');
    await stopped();
    const out = await acceptSource(rt.ctx, { server: 0, at: { now: true }, owner });
    expect(out).toMatchObject({ was: 'server_id=80', now: 'server_id=81', missed: true, position: await currentPosition(own()) });
    await touch([11], 'after the accept');
    await rt.cdc!.catchUp(60_000);
    expect(await matches()).toBe(false); // rows 8–10 were left out
    const verified = await verifyTable(rt.ctx, 'order_info', { repair: true });
    expect(verified.different).toBe(3);
    expect(await matches()).toBe(true);
  });

  it('with cdc.onSourceChange gtid, goes on by itself from the server reached now, found by its GTID position', async () => {
    await rt.cdc!.stop();
    const follows = parseConfig({ ...config, cdc: { ...config.cdc, onSourceChange: 'gtid' } });
    const rt2 = await LocalRuntime.start({ config: follows, dynamo: suite.dynamo });
    try {
      rt2.cdc!.start();
      await serverId(82);
      await touch([14, 15], 'followed across the change of server');
      await rt2.cdc!.catchUp(60_000);
      const state = await rt2.store.getCapture(config.migrationId);
      expect(state).toMatchObject({ sourceId: 'server_id=82' });
      expect(state).not.toHaveProperty('sourceChanged');
      expect(await matches()).toBe(true);

      // A GTID position the server reached next has not got: capture stops as under `stop`, saying why.
      const held = await acquireCaptureForOperator(rt2.ctx, owner, 0);
      const ahead = held.gtid!.replace(/-(\d+)$/, (_m, n: string) => `-${Number(n) + 1_000_000}`);
      await rt2.store.releaseCapture(config.migrationId, await rt2.store.setCaptureSource(config.migrationId, held, owner, { sourceId: held.sourceId!, gtid: ahead }), owner);
      await failOver(83);
      await touch([16], 'while capture is stopped');
      const err = await rt2.cdc!.catchUp(60_000).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(SourceChangedError);
      expect((err as Error).message).toMatch(/now reaches server_id=83 .* \(cdc\.onSourceChange gtid could not go on: this server's binlog has not got every change before GTID /);
    } finally {
      await rt2.close();
    }
  });
});
