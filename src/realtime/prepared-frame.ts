import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import type { ServerEvent, ServerEventMap } from '@libs/protocol';

export interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}

/** ws's framing, a static method of its Sender class (not in @types/ws). */
export interface SenderClass {
  frame(data: Buffer, options: FrameOptions): Buffer[];
}

/** The parts of a ws socket the fast path uses, which ws keeps private. */
export interface WebSocketInternals {
  _socket?: Socket;
  _sender?: { _state: number; constructor: SenderClass };
}

const TEXT_OPCODE = 1;
/** ws's Sender writes at once only in this state (no compression or Blob read in progress). */
export const SENDER_IDLE = 0;

/**
 * One server frame (`{event, data}`) serialized and framed once: `payload` is its JSON text (what
 * travels the bus), `bytesFor()` the whole WebSocket frame, header included. A fan-out writes the
 * same bytes to every socket, so a message costs one JSON.stringify and one header whatever the
 * size of the room.
 *
 * The header comes from the Sender class of the socket it is written to (the `ws` copy that made
 * the socket, whichever that is), and the fast path runs only once `WsFastPath` has checked at
 * start-up that the internals it uses are there; otherwise every write is `socket.send`.
 */
export class PreparedFrame {
  private static fastPath = false;
  private framedBy: SenderClass | undefined;
  private framed: Buffer | undefined;

  constructor(readonly payload: Buffer) {}

  static of<E extends ServerEvent>(event: E, data: ServerEventMap[E]): PreparedFrame {
    return new PreparedFrame(Buffer.from(JSON.stringify({ event, data })));
  }

  /** Set by the start-up check: whether `writeTo` may write the framed bytes itself. */
  static useFastPath(enabled: boolean): void {
    PreparedFrame.fastPath = enabled;
  }

  static get fastPathEnabled(): boolean {
    return PreparedFrame.fastPath;
  }

  /** The whole frame as `sender` frames it; built on the first call (per Sender class). */
  bytesFor(sender: SenderClass): Buffer {
    if (this.framedBy !== sender || !this.framed) {
      // Server frames are never masked; `readOnly: false` lets ws use the payload without a copy.
      const [header, body] = sender.frame(this.payload, {
        fin: true,
        rsv1: false,
        opcode: TEXT_OPCODE,
        mask: false,
        readOnly: false,
      });
      this.framed = body === undefined ? header : Buffer.concat([header, body]);
      this.framedBy = sender;
    }
    return this.framed;
  }

  /**
   * Writes the frame to `socket`. The bytes go straight to its TCP socket, as ws itself would
   * write them, when ws has nothing of its own in progress (the server turns compression off, so
   * that is always, in practice); otherwise ws frames the payload in turn, keeping the order.
   */
  writeTo(socket: WebSocket): void {
    const internals = socket as unknown as WebSocketInternals;
    const sender = internals._sender;
    if (PreparedFrame.fastPath && sender?._state === SENDER_IDLE && internals._socket) {
      internals._socket.write(this.bytesFor(sender.constructor));
    } else {
      socket.send(this.payload, { binary: false });
    }
  }
}
