import { Logger } from '@nestjs/common';

/**
 * What a rate limit shared in Redis says when it falls back to counting in this instance: one
 * warning when an outage begins, one line when Redis is back, nothing per request in between.
 */
export class OutageNotice {
  private inOutage = false;

  /** `subject`: what counts per instance meanwhile ("rate limits", "ws-connect"). */
  constructor(
    private readonly logger: Logger,
    private readonly subject: string,
  ) {}

  failedOver(reason: string): void {
    if (!this.inOutage) {
      this.inOutage = true;
      this.logger.warn(
        `Redis unavailable (${reason}): ${this.subject} count per instance until it returns`,
      );
    }
  }

  recovered(): void {
    if (this.inOutage) {
      this.inOutage = false;
      this.logger.log(`Redis is back: ${this.subject} are shared across the fleet again`);
    }
  }
}
