import { BusReceiver, BusTransport, BusTransportStatus } from './bus-transport';

/** One process, no network: a publish is delivered to the local subscribers before it returns. */
export class InProcessTransport implements BusTransport {
  readonly name = 'in-process';
  private receiver: BusReceiver = () => undefined;

  onMessage(receiver: BusReceiver): void {
    this.receiver = receiver;
  }

  connect(): Promise<void> {
    return Promise.resolve();
  }

  publish(channel: string, data: Buffer): Promise<void> {
    this.receiver(channel, data);
    return Promise.resolve();
  }

  // The bus keeps the subscriber lists; there is nothing to subscribe below it.
  subscribe(): Promise<void> {
    return Promise.resolve();
  }

  unsubscribe(): Promise<void> {
    return Promise.resolve();
  }

  status(): BusTransportStatus {
    return { healthy: true, reconnects: 0 };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
