import { Injectable } from '@nestjs/common';

/**
 * Whether the process is draining for a shutdown. Set once, at the signal; readiness answers 503
 * from then on, while every other route keeps serving until the port closes.
 */
@Injectable()
export class DrainState {
  private drainingSince: number | undefined;

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  begin(): void {
    this.drainingSince ??= Date.now();
  }
}
