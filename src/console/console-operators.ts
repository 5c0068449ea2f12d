import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { APP_CONFIG, AppConfig } from '@config';
import { AppError } from '@app/common/errors/app-error';
import { UsersService } from '@app/users/users.service';

/** Users whose answer is remembered; a username never changes, so neither does the answer. */
const REMEMBERED_USERS = 10_000;

/**
 * Who may use the operator console: the users named in CONSOLE_USERS (compared as usernames
 * are, without letter case). With nobody named, the console is off and answers 404 as if it
 * did not exist.
 */
@Injectable()
export class ConsoleOperators {
  private readonly operatorKeys: ReadonlySet<string>;
  private readonly answers = new LRUCache<string, boolean>({ max: REMEMBERED_USERS });

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly users: UsersService,
  ) {
    this.operatorKeys = new Set(
      config.console.operators.map((username) => UsersService.usernameKey(username)),
    );
  }

  get enabled(): boolean {
    return this.operatorKeys.size > 0;
  }

  /** Throws 404 `not_found` while the console is off, 403 `not_operator` for anyone not named. */
  async assertOperator(userId: string): Promise<void> {
    if (!this.enabled) {
      throw new AppError('not_found', 'The console is off: CONSOLE_USERS names nobody');
    }
    let allowed = this.answers.get(userId);
    if (allowed === undefined) {
      const user = await this.users.getUser(userId);
      allowed = this.operatorKeys.has(user.usernameKey);
      this.answers.set(userId, allowed);
    }
    if (!allowed) {
      throw new AppError('not_operator', 'Only the users named in CONSOLE_USERS use the console');
    }
  }
}
