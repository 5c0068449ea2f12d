import { AsyncLocalStorage } from 'node:async_hooks';
import type { RealtimeConnection } from './realtime-connection';

/** The frame being handled: the exception filter answers on its connection with its `ref`. */
export interface FrameContext {
  connection: RealtimeConnection;
  ref: string | undefined;
}

export const frameContext = new AsyncLocalStorage<FrameContext>();
