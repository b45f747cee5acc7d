import fc from 'fast-check';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { from, lastValueFrom, Subject, throwError, concat } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  EPISODE_FORMATS,
  EpisodeError,
  encodeEpisode,
  openEpisodeWriter,
  readEpisodes,
  writeEpisodes,
  type Episode,
  type EpisodeFormat,
} from '../../src/episodes/index.ts';
import { episodeArbitrary, readAll, sampleEpisode, tempDir, tinyEpisode, viaJson } from './helpers.ts';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const episodes = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => sampleEpisode(from + k));
const fileFor = (format: EpisodeFormat, name = 'episodes') => join(dir, `${name}.${format}`);

async function writeAll(path: string, list: readonly Episode[]): Promise<number> {
  const writer = await openEpisodeWriter(path);
  for (const episode of list) await writer.write(episode);
  await writer.close();
  return writer.count;
}

/** Encodes without validation, to plant bad records in a file. */
const rawMsgpack = new Packr({ useRecords: false });
const rawRecord = (value: unknown, format: EpisodeFormat) =>
  format === 'msgpack' ? rawMsgpack.pack(value) : Buffer.from(`${JSON.stringify(value)}\n`);

describe.each(EPISODE_FORMATS)('%s files', (format) => {
  it('are written, appended to and read back in order, in any chunk size', async () => {
    const path = fileFor(format);
    expect(await writeAll(path, episodes(0, 5))).toBe(5);
    expect(await writeAll(path, episodes(5, 12))).toBe(7);
    for (const chunkSize of [1, 3, 17, 65_536]) {
      const { episodes: back, truncated } = await readAll(path, { chunkSize });
      expect(back).toStrictEqual(episodes(0, 12));
      expect(truncated).toBe(0);
    }
  });

  it('give back any episodes written, whatever the chunk size', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(episodeArbitrary, { maxLength: 8 }), fc.integer({ min: 1, max: 300 }), async (list, chunkSize) => {
        const path = fileFor(format, `property-${Math.random().toString(36).slice(2)}`);
        await writeAll(path, list);
        expect((await readAll(path, { chunkSize })).episodes).toStrictEqual(viaJson(list));
      }),
      { numRuns: 40 },
    );
  });

  it('read back everything before a record cut at any byte, report the cut bytes, and are repaired by the next writer', async () => {
    const path = fileFor(format);
    const written = [0, 1, 2].map(tinyEpisode);
    await writeAll(path, written);
    const bytes = readFileSync(path);
    const lastStart = bytes.length - encodeEpisode(written[2], format).length;
    const cutPath = fileFor(format, 'cut');
    for (let cut = lastStart; cut < bytes.length; cut++) {
      writeFileSync(cutPath, bytes.subarray(0, cut));
      // A JSON line that lost only its newline is still a complete episode.
      const complete = format === 'jsonl' && cut === bytes.length - 1 ? 3 : 2;
      const unfinished = complete === 3 ? 0 : cut - lastStart;
      for (const chunkSize of [3, 65_536]) {
        expect(await readAll(cutPath, { chunkSize })).toStrictEqual({ episodes: written.slice(0, complete), truncated: unfinished });
      }
      let removed = 0;
      const writer = await openEpisodeWriter(cutPath, { onTruncated: (bytes) => (removed = bytes) });
      await writer.write(tinyEpisode(9));
      await writer.close();
      expect(removed).toBe(unfinished);
      expect(await readAll(cutPath)).toStrictEqual({ episodes: [...written.slice(0, complete), tinyEpisode(9)], truncated: 0 });
    }
  });

  const notAMap = () => (format === 'msgpack' ? 'is corrupt: an episode record is a msgpack map' : 'is not valid JSON');
  it.each([
    ['a first byte that starts no value', (bytes: Buffer, at: number) => (bytes[at] = format === 'msgpack' ? 0xc1 : 0x78), notAMap],
    ['a first byte that starts a number', (bytes: Buffer, at: number) => (bytes[at] = 0x31), notAMap],
    [
      'a key replaced by an ext value',
      (bytes: Buffer, at: number) => bytes.set([0xd4, 0x10, 0x00], at + 1),
      (at: number) => (format === 'msgpack' ? `is not episode msgpack: byte ${at + 1} is 0xd4, a type JSON has no counterpart for` : 'is not valid JSON'),
    ],
    [
      // In msgpack the key "schema" (0xa6 and six letters) becomes an array of six zeros: well framed, but no object key.
      'a key replaced by an array',
      (bytes: Buffer, at: number) => bytes.set(format === 'msgpack' ? [0x96, 0, 0, 0, 0, 0, 0] : [0x5b], at + 1),
      () => (format === 'msgpack' ? 'is not valid msgpack: Invalid property type for record' : 'is not valid JSON'),
    ],
  ])('stop at a corrupt record in the middle (%s) with an error naming its index and byte offset', async (_name, corrupt, problem) => {
    const path = fileFor(format);
    await writeAll(path, episodes(0, 3));
    const bytes = readFileSync(path);
    const offset = encodeEpisode(sampleEpisode(0), format).length;
    corrupt(bytes, offset);
    writeFileSync(path, bytes);
    const message = problem(offset);
    const seen: Episode[] = [];
    const error = await (async () => {
      for await (const episode of readEpisodes(path, { chunkSize: 5 })) seen.push(episode);
    })().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(EpisodeError);
    expect(error).toMatchObject({ index: 1, offset });
    expect((error as Error).message).toContain(`episode 1 (byte ${offset}) of ${path} ${message}`);
    expect(seen).toStrictEqual(episodes(0, 1));
  });

  it('stop at a well-formed record that is not a valid episode, naming the index, offset and field', async () => {
    const path = fileFor(format);
    const good = encodeEpisode(sampleEpisode(0), format);
    const bad = structuredClone(sampleEpisode(1)) as Record<string, any>;
    bad.steps[2].valid = 'no';
    writeFileSync(path, Buffer.concat([good, rawRecord(bad, format), encodeEpisode(sampleEpisode(2), format)]));
    await expect(readAll(path)).rejects.toThrow(
      `episode 1 (byte ${good.length}) of ${path} is not a valid episode: steps.2.valid: Invalid input: expected boolean, received string`,
    );
  });

  it('refuse a record of another schema version', async () => {
    const path = fileFor(format);
    writeFileSync(path, rawRecord({ ...sampleEpisode(0), schema: 2 }, format));
    await expect(readAll(path)).rejects.toThrow('episode 0 (byte 0) of ' + path + ' is not a valid episode: episode schema version 2 is not supported');
  });

  it('refuse records longer than maxRecordBytes, when reading and when writing', async () => {
    const path = fileFor(format);
    const big = sampleEpisode(0, { reason: 'x'.repeat(2000) });
    await writeAll(path, [big, big, big]);
    await expect(readAll(path, { maxRecordBytes: 1000, chunkSize: 64 })).rejects.toThrow(/episode 0 \(byte 0\) .* longer than maxRecordBytes \(1000\)/);
    const writer = await openEpisodeWriter(fileFor(format, 'small'), { maxRecordBytes: 1000 });
    await expect(writer.write(big)).rejects.toThrow('more than maxRecordBytes (1000)');
    // Refused between episodes that wait for the same write: it leaves no trace between them.
    writer.append(sampleEpisode(1));
    writer.append(sampleEpisode(2));
    expect(() => writer.append(big)).toThrow('more than maxRecordBytes (1000)');
    writer.append(sampleEpisode(3));
    await writer.close();
    expect(writer.count).toBe(3);
    expect(await readAll(fileFor(format, 'small'))).toStrictEqual({ episodes: [1, 2, 3].map((i) => sampleEpisode(i)), truncated: 0 });
  });

  it('are never given an invalid episode: the write rejects, naming the field, and the file stays readable', async () => {
    const path = fileFor(format);
    const writer = await openEpisodeWriter(path);
    await writer.write(sampleEpisode(0));
    await expect(writer.write({ ...sampleEpisode(1), returns: [Number.NaN] })).rejects.toThrow('returns.0');
    await writer.write(sampleEpisode(2));
    await writer.close();
    expect(writer.count).toBe(2);
    expect((await readAll(path)).episodes).toStrictEqual([sampleEpisode(0), sampleEpisode(2)]);
  });

  it('wait for the stream to drain when its buffer is full', async () => {
    const writer = await openEpisodeWriter(fileFor(format));
    let written = false;
    const writing = writer.write(sampleEpisode(0, { reason: 'x'.repeat(200_000) })).then(() => (written = true));
    await Promise.resolve();
    expect(written).toBe(false);
    await writing;
    await writer.close();
  });

  it('take many writes made together while the buffer is full, in order, with one drain listener', async () => {
    const path = fileFor(format);
    const writer = await openEpisodeWriter(path);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const list = Array.from({ length: 40 }, (_, i) => sampleEpisode(i, { reason: 'x'.repeat(20_000) }));
      await Promise.all(list.map((episode) => writer.write(episode)));
      await writer.close();
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((warning) => warning.name)).not.toContain('MaxListenersExceededWarning');
      expect((await readAll(path)).episodes).toStrictEqual(list);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('hold a producer back while too many episodes wait for the file, and flush to the file', async () => {
    const path = join(dir, `backpressure.${format}`);
    const writer = await openEpisodeWriter(path, { maxPendingEpisodes: 4 });
    expect(writer.ready()).toBeUndefined();
    for (let i = 0; i < 4; i++) writer.append(sampleEpisode(i));
    expect(writer.pending.episodes).toBe(4);
    const room = writer.ready();
    expect(room).toBeInstanceOf(Promise);
    await room;
    expect(writer.pending.episodes).toBeLessThanOrEqual(2);
    writer.append(sampleEpisode(4));
    await writer.flush();
    expect(writer.pending).toEqual({ episodes: 0, bytes: 0 });
    expect((await readAll(path)).episodes.map((e) => e.id)).toEqual([0, 1, 2, 3, 4].map((i) => `episode-${i}`));
    expect(() => writer.append({ ...sampleEpisode(5), schema: 2 } as never)).toThrow();
    await writer.close();
  });

  it('refuse writes once closed, and closing twice is harmless', async () => {
    const writer = await openEpisodeWriter(fileFor(format));
    const closing = writer.close();
    expect(writer.close()).toBe(closing);
    await closing;
    await expect(writer.write(sampleEpisode(0))).rejects.toThrow('the writer is closed');
  });

  it('can go to a device that takes anything and cannot be synced (/dev/null, through a link named for the format)', async () => {
    const path = fileFor(format, 'discarded');
    symlinkSync('/dev/null', path);
    expect(await writeAll(path, episodes(0, 50))).toBe(50);
    expect(await lastValueFrom(writeEpisodes(path, from(episodes(50, 60))))).toBe(10);
  });

  it('written by writeEpisodes hold every episode in order, even from a source faster than the disk', async () => {
    const path = fileFor(format);
    const source = new Subject<Episode>();
    const done = lastValueFrom(writeEpisodes(path, source));
    for (const episode of episodes(0, 200)) source.next(sampleEpisode(0, { id: episode.id, reason: 'y'.repeat(5000) }));
    source.complete();
    expect(await done).toBe(200);
    expect((await readAll(path)).episodes.map((e) => e.id)).toStrictEqual(episodes(0, 200).map((e) => e.id));
    expect(await lastValueFrom(writeEpisodes(path, from(episodes(200, 203))))).toBe(3);
    expect((await readAll(path)).episodes).toHaveLength(203);
  });

  it('written by writeEpisodes are closed and readable when the source fails', async () => {
    const path = fileFor(format);
    const failing = concat(from(episodes(0, 3)), throwError(() => new Error('arena crashed')));
    await expect(lastValueFrom(writeEpisodes(path, failing))).rejects.toThrow('arena crashed');
    expect((await readAll(path)).episodes).toStrictEqual(episodes(0, 3));
  });
});

describe('episode files', () => {
  it('are created empty by a writer that writes nothing', async () => {
    const path = fileFor('msgpack');
    expect(await lastValueFrom(writeEpisodes(path, from([])))).toBe(0);
    expect(statSync(path).size).toBe(0);
    expect(await readAll(path)).toStrictEqual({ episodes: [], truncated: 0 });
  });

  it('in msgpack are not appended to where records cannot be told apart', async () => {
    const path = fileFor('msgpack');
    await writeAll(path, episodes(0, 3));
    const bytes = readFileSync(path);
    const offset = encodeEpisode(sampleEpisode(0), 'msgpack').length;
    bytes[offset] = 0xc1;
    writeFileSync(path, bytes);
    await expect(openEpisodeWriter(path)).rejects.toThrow(`cannot append to ${path}: episode 1 (byte ${offset}) of ${path} is corrupt`);
    expect(readFileSync(path)).toStrictEqual(bytes);
  });

  it('in JSONL without a final newline get one before the next appended line', async () => {
    const path = fileFor('jsonl');
    writeFileSync(path, JSON.stringify(sampleEpisode(0)));
    await writeAll(path, [sampleEpisode(1)]);
    expect((await readAll(path)).episodes).toStrictEqual(episodes(0, 2));
  });

  it('can be read with a format the extension does not name', async () => {
    const path = join(dir, 'episodes.data');
    const writer = await openEpisodeWriter(path, { format: 'jsonl' });
    await writer.write(sampleEpisode(0));
    await writer.close();
    expect((await readAll(path, { format: 'jsonl' })).episodes).toStrictEqual(episodes(0, 1));
  });

  it('that do not exist make the reader reject with ENOENT', async () => {
    const path = fileFor('msgpack', 'missing');
    await expect(readAll(path)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(existsSync(path)).toBe(false);
  });

  it('with blank or garbage trailing bytes in JSONL report them as truncated', async () => {
    const path = fileFor('jsonl');
    await writeAll(path, episodes(0, 2));
    appendFileSync(path, '{"schema": 1, "id": "half');
    expect(await readAll(path, { chunkSize: 4 })).toMatchObject({ episodes: episodes(0, 2), truncated: 25 });
  });

  it.skipIf(!existsSync('/dev/full'))('pass a disk error on to write() and close()', async () => {
    const writer = await openEpisodeWriter('/dev/full', { format: 'msgpack' });
    const writing = (async () => {
      for (let i = 0; i < 1000; i++) await writer.write(sampleEpisode(i));
    })();
    await expect(writing).rejects.toMatchObject({ code: 'ENOSPC' });
    await expect(writer.close()).rejects.toMatchObject({ code: 'ENOSPC' });
  });

  it.skipIf(!existsSync('/proc/self/fd'))('are closed by writeEpisodes when its subscriber unsubscribes', async () => {
    const openFiles = () => readdirSync('/proc/self/fd').length;
    const before = openFiles();
    const path = fileFor('jsonl');
    const source = new Subject<Episode>();
    const subscription = writeEpisodes(path, source).subscribe();
    source.next(sampleEpisode(0));
    await vi.waitFor(() => expect(statSync(path).size).toBeGreaterThan(0));
    subscription.unsubscribe();
    await vi.waitFor(() => expect(openFiles()).toBe(before));
    expect((await readAll(path)).episodes).toStrictEqual(episodes(0, 1));
  });
});
