/** One message as a subscriber receives it. */
export class BusMessage {
  constructor(
    readonly channel: string,
    /**
     * The bytes as published: the JSON text the publisher serialized once, or the Buffer it
     * passed. Every local subscriber gets this same Buffer, so a subscriber that fans out can
     * write it to many sockets without serializing again. Do not mutate it.
     */
    readonly data: Buffer,
  ) {}

  /** `data` parsed as JSON. Parses on each call and returns a fresh object. */
  json<T = unknown>(): T {
    return JSON.parse(this.data.toString('utf8')) as T;
  }
}

/** Errors thrown or rejected by a handler are logged; they never reach the publisher. */
export type BusHandler = (message: BusMessage) => void | Promise<void>;

/** Drops one subscription. Calling it again does nothing. */
export type Unsubscribe = () => void;

/** A Buffer is taken as already serialized; any other value is serialized once as JSON. */
export function serializeBusPayload(payload: unknown): Buffer {
  if (Buffer.isBuffer(payload)) {
    return payload;
  }
  const json = JSON.stringify(payload) as string | undefined;
  if (json === undefined) {
    throw new TypeError('A bus payload must be a Buffer or a JSON-serializable value');
  }
  return Buffer.from(json, 'utf8');
}
