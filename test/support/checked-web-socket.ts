import WebSocket from 'ws';
import { assertClientFrame, checkServerFrame, recordFrameViolation } from './frame-contract';

/**
 * `ws`'s WebSocket for `RealtimeClient` in tests (its `WebSocket` option): every frame it sends
 * and receives is checked against asyncapi.json, and a test that saw one that breaks it fails.
 */
export class CheckedWebSocket extends WebSocket {
  constructor(address: string, options?: WebSocket.ClientOptions) {
    super(address, options);
    // Text frames arrive as a Buffer (ws's default binaryType); the server sends no binary one.
    this.on('message', (data, isBinary) => {
      checkServerFrame(isBinary ? data : JSON.parse((data as Buffer).toString('utf8')));
    });
  }

  override send(data: string, ...rest: unknown[]): void {
    try {
      assertClientFrame(JSON.parse(data));
    } catch (error) {
      // The client may turn the throw into a rejection nobody awaits: the test still fails.
      recordFrameViolation((error as Error).message);
      throw error;
    }
    (super.send as (...args: unknown[]) => void)(data, ...rest);
  }
}
