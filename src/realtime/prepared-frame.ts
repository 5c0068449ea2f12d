import type { Socket } from 'node:net';
import WebSocket from 'ws';
import type { ServerEvent, ServerEventMap } from '@libs/protocol';

interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}

/** ws's own framing and the parts of a socket it keeps private (not in @types/ws). */
const { Sender } = WebSocket as unknown as {
  Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] };
};
interface WebSocketInternals {
  _socket?: Socket;
  _sender?: { _state: number };
}
const TEXT_OPCODE = 1;
/** ws's Sender writes at once only in this state (no compression or Blob read in progress). */
const SENDER_IDLE = 0;

/**
 * One server frame (`{event, data}`) serialized and framed once: `payload` is its JSON text (what
 * travels the bus), `bytes` the whole WebSocket frame, header included. A fan-out writes the same
 * `bytes` to every socket, so a message costs one JSON.stringify and one header whatever the size
 * of the room.
 */
export class PreparedFrame {
  readonly bytes: Buffer;

  constructor(readonly payload: Buffer) {
    // Server frames are never masked; `readOnly: false` lets ws use the payload without a copy.
    const [header, body] = Sender.frame(payload, {
      fin: true,
      rsv1: false,
      opcode: TEXT_OPCODE,
      mask: false,
      readOnly: false,
    });
    this.bytes = body === undefined ? header : Buffer.concat([header, body]);
  }

  static of<E extends ServerEvent>(event: E, data: ServerEventMap[E]): PreparedFrame {
    return new PreparedFrame(Buffer.from(JSON.stringify({ event, data })));
  }

  /**
   * Writes the frame to `socket`. The bytes go straight to its TCP socket, as ws itself would
   * write them, when ws has nothing of its own in progress (the server turns compression off, so
   * that is always, in practice); otherwise ws frames the payload in turn, keeping the order.
   */
  writeTo(socket: WebSocket): void {
    const internals = socket as unknown as WebSocketInternals;
    if (internals._sender?._state === SENDER_IDLE && internals._socket) {
      internals._socket.write(this.bytes);
    } else {
      socket.send(this.payload, { binary: false });
    }
  }
}
