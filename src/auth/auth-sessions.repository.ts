import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, IsNull, LessThan, Repository } from 'typeorm';
import { DatabaseWriter } from '@app/database/database-writer';
import { AuthSessionSpentSecret } from './auth-session-spent-secret.entity';
import { AuthSession } from './auth-session.entity';

@Injectable()
export class AuthSessionsRepository {
  constructor(
    @InjectRepository(AuthSession) private readonly sessions: Repository<AuthSession>,
    @InjectRepository(AuthSessionSpentSecret)
    private readonly spentSecrets: Repository<AuthSessionSpentSecret>,
    private readonly writer: DatabaseWriter,
  ) {}

  create(userId: string, refreshTokenHash: string, expiresAt: Date): Promise<AuthSession> {
    const session = this.sessions.create({ userId, refreshTokenHash, expiresAt, revokedAt: null });
    return this.writer.run(() => this.sessions.save(session, { transaction: false }));
  }

  findById(id: string): Promise<AuthSession | null> {
    return this.sessions.findOneBy({ id });
  }

  /** The sessions among `ids` that still exist, in one query. */
  findByIds(ids: readonly string[]): Promise<AuthSession[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.sessions.findBy({ id: In([...ids]) });
  }

  /**
   * Swaps the stored hash, but only if it is still `expectedHash` and the session is live: of two
   * refreshes racing with one token, exactly one wins. `expectedHash` is recorded as spent first,
   * so that it is known as spent even to the loser of such a race.
   */
  async rotate(
    id: string,
    expectedHash: string,
    newHash: string,
    expiresAt: Date,
  ): Promise<boolean> {
    const result = await this.writer.run(async () => {
      await this.spentSecrets
        .createQueryBuilder()
        .insert()
        .values({ secretHash: expectedHash, sessionId: id })
        .orIgnore()
        .execute();
      return this.sessions.update(
        { id, refreshTokenHash: expectedHash, revokedAt: IsNull() },
        { refreshTokenHash: newHash, expiresAt },
      );
    });
    return result.affected === 1;
  }

  /** Whether `secretHash` is a refresh secret of this session that was already traded in. */
  isSpent(id: string, secretHash: string): Promise<boolean> {
    return this.spentSecrets.existsBy({ sessionId: id, secretHash });
  }

  async revoke(id: string): Promise<void> {
    await this.writer.run(() =>
      this.sessions.update({ id, revokedAt: IsNull() }, { revokedAt: new Date() }),
    );
  }

  /**
   * Deletes up to `limit` sessions that expired before `before` (their spent secrets go with them,
   * ON DELETE CASCADE); returns how many. Bounded, so that a large backlog never holds the
   * writer (one for the whole process on SQLite) for long.
   */
  async deleteExpired(before: Date, limit: number): Promise<number> {
    const expired = await this.sessions.find({
      select: { id: true },
      where: { expiresAt: LessThan(before) },
      take: limit,
    });
    if (expired.length === 0) {
      return 0;
    }
    await this.writer.run(() =>
      this.sessions.delete({ id: In(expired.map((session) => session.id)) }),
    );
    return expired.length;
  }
}
