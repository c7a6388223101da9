/**
 * A loopback Kafka broker that speaks just enough of the protocol for kafkajs' producer `send` and a
 * consumer group's `run` with `eachMessage` / `eachBatch`, on one node, one partition per topic, no
 * authentication, no compression. It is no Kafka: it exists because no broker can run on this machine,
 * and it proves only that the integration's patch points are the ones real kafkajs calls, with real
 * kafkajs encoding and decoding real protocol frames (headers included) on a real socket.
 *
 * The frames are built and read with kafkajs' own protocol primitives (`Encoder`, `Decoder`, its record
 * batch codec), the versions are the oldest that carry record headers (Produce v3, Fetch v4) and v0/v1 of
 * the group APIs, which the broker advertises in its ApiVersions answer so kafkajs uses no other.
 * What it receives is kept (`produced`: each record's topic, value and headers as sent on the wire).
 */
import { createServer, type Server, type Socket } from 'node:net';

type Long = { toString(): string; toNumber(): number };
interface Decoder {
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): Long;
  readString(): string;
  readBytes(): Buffer;
  readArray<T>(reader: (d: Decoder) => T): T[];
}
interface Encoder {
  readonly buffer: Buffer;
  writeInt8(v: number): Encoder;
  writeInt16(v: number): Encoder;
  writeInt32(v: number): Encoder;
  writeInt64(v: number | string | bigint): Encoder;
  writeString(v: string | null): Encoder;
  writeBytes(v: Buffer | null): Encoder;
  writeArray(values: unknown[], type?: 'int32' | 'string' | 'object'): Encoder;
  writeEncoder(e: Encoder): Encoder;
}
type EncoderCtor = new () => Encoder;
type DecoderCtor = new (buffer: Buffer) => Decoder;
interface DecodedRecord {
  readonly offset: string;
  readonly value: Buffer | null;
  readonly headers: Record<string, Buffer | Buffer[]>;
}

/** kafkajs' protocol primitives, from the copy the tests use. */
function codec(kafkajsDir: string): {
  Encoder: EncoderCtor;
  Decoder: DecoderCtor;
  decodeBatch: (d: Decoder) => Promise<{ records: DecodedRecord[] }>;
  Long: { fromString(s: string): unknown; fromNumber(n: number): unknown };
} {
  return {
    Encoder: require(`${kafkajsDir}/src/protocol/encoder`) as EncoderCtor,
    Decoder: require(`${kafkajsDir}/src/protocol/decoder`) as DecoderCtor,
    decodeBatch: require(`${kafkajsDir}/src/protocol/recordBatch/v0/decoder`) as (d: Decoder) => Promise<{ records: DecodedRecord[] }>,
    Long: require(`${kafkajsDir}/src/utils/long`) as { fromString(s: string): unknown; fromNumber(n: number): unknown },
  };
}

/** The API keys and the one version range of each this broker speaks. */
const APIS: ReadonlyArray<[key: number, min: number, max: number]> = [
  [0, 3, 3], // Produce
  [1, 4, 4], // Fetch
  [2, 1, 1], // ListOffsets
  [3, 0, 0], // Metadata
  [8, 2, 2], // OffsetCommit
  [9, 1, 1], // OffsetFetch
  [10, 0, 0], // FindCoordinator
  [11, 0, 0], // JoinGroup
  [12, 0, 0], // Heartbeat
  [13, 0, 0], // LeaveGroup
  [14, 0, 0], // SyncGroup
  [18, 0, 2], // ApiVersions
];

/** One record as the broker received it. */
export interface ProducedRecord {
  readonly topic: string;
  readonly value: string;
  /** Header values as strings (first value of a repeated header). */
  readonly headers: Record<string, string>;
}

/** A stored record batch: its bytes (base offset rewritten) and how many records it holds. */
interface Stored {
  readonly base: number;
  readonly count: number;
  readonly bytes: Buffer;
}

/** The loopback broker. */
export class FakeKafkaBroker {
  readonly produced: ProducedRecord[] = [];
  private readonly log = new Map<string, Stored[]>();
  private readonly committed = new Map<string, bigint>();
  private readonly sockets = new Set<Socket>();
  private readonly c: ReturnType<typeof codec>;
  private memberSeq = 0;

  private constructor(
    private readonly server: Server,
    kafkajsDir: string,
  ) {
    this.c = codec(kafkajsDir);
  }

  /** The port it listens on (127.0.0.1). */
  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Start on a free port of 127.0.0.1, encoding with the kafkajs found at `kafkajsDir`. */
  static async start(kafkajsDir: string): Promise<FakeKafkaBroker> {
    const server = createServer();
    const broker = new FakeKafkaBroker(server, kafkajsDir);
    server.on('connection', (socket) => broker.serve(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return broker;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    let chain = Promise.resolve();
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
        pending = pending.subarray(4 + frame.length);
        // Answers go out in request order, as a broker's do on one connection.
        chain = chain.then(() => this.answer(socket, frame)).catch((err: unknown) => {
          socket.destroy(err instanceof Error ? err : new Error(String(err)));
        });
      }
    });
  }

  private async answer(socket: Socket, frame: Buffer): Promise<void> {
    const d = new this.c.Decoder(frame);
    const apiKey = d.readInt16();
    const version = d.readInt16();
    const correlationId = d.readInt32();
    d.readString(); // client id
    const body = await this.respond(apiKey, version, d);
    if (body === undefined) return; // produce with acks=0 has no answer
    const out = new this.c.Encoder().writeInt32(correlationId).writeEncoder(body).buffer;
    const size = Buffer.alloc(4);
    size.writeInt32BE(out.length);
    if (!socket.destroyed) socket.write(Buffer.concat([size, out]));
  }

  private enc(): Encoder {
    return new this.c.Encoder();
  }

  private async respond(apiKey: number, version: number, d: Decoder): Promise<Encoder | undefined> {
    switch (apiKey) {
      case 18: {
        const e = this.enc().writeInt16(0).writeArray(APIS.map(([k, min, max]) => this.enc().writeInt16(k).writeInt16(min).writeInt16(max)));
        return version >= 1 ? e.writeInt32(0) : e;
      }
      case 3: {
        const topics = d.readArray((x) => x.readString());
        const names = topics.length > 0 ? topics : [...this.log.keys()];
        const broker = this.enc().writeInt32(0).writeString('127.0.0.1').writeInt32(this.port);
        return this.enc()
          .writeArray([broker])
          .writeArray(
            names.map((name) =>
              this.enc()
                .writeInt16(0)
                .writeString(name)
                .writeArray([this.enc().writeInt16(0).writeInt32(0).writeInt32(0).writeArray([0], 'int32').writeArray([0], 'int32')]),
            ),
          );
      }
      case 0:
        return this.produce(d);
      case 1:
        return this.fetch(d);
      case 2: {
        d.readInt32(); // replica id
        const topics = d.readArray((x) => ({ topic: x.readString(), partitions: x.readArray((p) => ({ partition: p.readInt32(), time: p.readInt64() })) }));
        return this.enc().writeArray(
          topics.map((t) =>
            this.enc()
              .writeString(t.topic)
              .writeArray(
                t.partitions.map((p) => {
                  // -2 asks for the earliest offset, -1 for the next one to be written.
                  const offset = p.time.toString() === '-2' ? 0 : this.end(t.topic);
                  return this.enc().writeInt32(p.partition).writeInt16(0).writeInt64(-1).writeInt64(offset);
                }),
              ),
          ),
        );
      }
      case 10:
        return this.enc().writeInt16(0).writeInt32(0).writeString('127.0.0.1').writeInt32(this.port);
      case 11: {
        d.readString(); // group
        d.readInt32(); // session timeout
        d.readString(); // member id
        d.readString(); // protocol type
        const protocols = d.readArray((x) => ({ name: x.readString(), metadata: x.readBytes() }));
        const member = `member-${++this.memberSeq}`;
        // One member, made leader: it gets its own subscription back and computes the assignment.
        return this.enc()
          .writeInt16(0)
          .writeInt32(1)
          .writeString(protocols[0].name)
          .writeString(member)
          .writeString(member)
          .writeArray([this.enc().writeString(member).writeBytes(protocols[0].metadata)]);
      }
      case 14: {
        d.readString(); // group
        d.readInt32(); // generation
        const member = d.readString();
        const assignments = d.readArray((x) => ({ member: x.readString(), assignment: x.readBytes() }));
        const mine = assignments.find((a) => a.member === member);
        return this.enc().writeInt16(0).writeBytes(mine ? mine.assignment : Buffer.alloc(0));
      }
      case 9: {
        const group = d.readString();
        const topics = d.readArray((x) => ({ topic: x.readString(), partitions: x.readArray((p) => p.readInt32()) }));
        return this.enc().writeArray(
          topics.map((t) =>
            this.enc()
              .writeString(t.topic)
              .writeArray(
                t.partitions.map((p) => {
                  const offset = this.committed.get(`${group}/${t.topic}/${p}`);
                  return this.enc().writeInt32(p).writeInt64(offset === undefined ? -1 : offset.toString()).writeString('').writeInt16(0);
                }),
              ),
          ),
        );
      }
      case 8: {
        const group = d.readString();
        d.readInt32(); // generation
        d.readString(); // member
        d.readInt64(); // retention
        const topics = d.readArray((x) => ({
          topic: x.readString(),
          partitions: x.readArray((p) => ({ partition: p.readInt32(), offset: p.readInt64(), meta: p.readString() })),
        }));
        for (const t of topics) for (const p of t.partitions) this.committed.set(`${group}/${t.topic}/${p.partition}`, BigInt(p.offset.toString()));
        return this.enc().writeArray(topics.map((t) => this.enc().writeString(t.topic).writeArray(t.partitions.map((p) => this.enc().writeInt32(p.partition).writeInt16(0)))));
      }
      case 12:
      case 13:
        return this.enc().writeInt16(0);
      default:
        throw new Error(`fake Kafka broker: API ${apiKey} v${version} not spoken`);
    }
  }

  /** The offset the next record of `topic` gets. */
  private end(topic: string): number {
    const batches = this.log.get(topic) ?? [];
    const last = batches[batches.length - 1];
    return last === undefined ? 0 : last.base + last.count;
  }

  private async produce(d: Decoder): Promise<Encoder | undefined> {
    d.readString(); // transactional id
    const acks = d.readInt16();
    d.readInt32(); // timeout
    const topics = d.readArray((x) => ({ topic: x.readString(), partitions: x.readArray((p) => ({ partition: p.readInt32(), records: p.readBytes() })) }));
    const answers: Encoder[] = [];
    for (const t of topics) {
      const partitions: Encoder[] = [];
      for (const p of t.partitions) {
        const base = this.end(t.topic);
        const batch = await this.c.decodeBatch(new this.c.Decoder(p.records));
        for (const record of batch.records) {
          const headers: Record<string, string> = {};
          for (const [key, value] of Object.entries(record.headers)) headers[key] = (Array.isArray(value) ? value[0] : value).toString();
          this.produced.push({ topic: t.topic, value: record.value === null ? '' : record.value.toString(), headers });
        }
        const bytes = Buffer.from(p.records);
        bytes.writeBigInt64BE(BigInt(base), 0);
        const list = this.log.get(t.topic) ?? [];
        list.push({ base, count: batch.records.length, bytes });
        this.log.set(t.topic, list);
        partitions.push(this.enc().writeInt32(p.partition).writeInt16(0).writeInt64(base).writeInt64(-1));
      }
      answers.push(this.enc().writeString(t.topic).writeArray(partitions));
    }
    return acks === 0 ? undefined : this.enc().writeArray(answers).writeInt32(0);
  }

  private async fetch(d: Decoder): Promise<Encoder> {
    d.readInt32(); // replica id
    const maxWait = d.readInt32();
    d.readInt32(); // min bytes
    d.readInt32(); // max bytes
    d.readInt8(); // isolation level
    const topics = d.readArray((x) => ({ topic: x.readString(), partitions: x.readArray((p) => ({ partition: p.readInt32(), offset: Number(p.readInt64().toString()), max: p.readInt32() })) }));
    const available = (): boolean => topics.some((t) => t.partitions.some((p) => p.offset < this.end(t.topic)));
    // Long polling, as a broker does: wait (a little) for records rather than answer empty at once.
    for (let waited = 0; !available() && waited < Math.min(maxWait, 200); waited += 20) await new Promise((r) => setTimeout(r, 20));
    return this.enc()
      .writeInt32(0)
      .writeArray(
        topics.map((t) =>
          this.enc()
            .writeString(t.topic)
            .writeArray(
              t.partitions.map((p) => {
                const batches = (this.log.get(t.topic) ?? []).filter((b) => b.base + b.count > p.offset);
                const end = this.end(t.topic);
                return this.enc()
                  .writeInt32(p.partition)
                  .writeInt16(0)
                  .writeInt64(end)
                  .writeInt64(end)
                  .writeArray([])
                  .writeBytes(Buffer.concat(batches.map((b) => b.bytes)));
              }),
            ),
        ),
      );
  }
}
