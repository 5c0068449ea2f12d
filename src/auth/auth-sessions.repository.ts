import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { DatabaseWriter } from '@app/database/database-writer';
import { AuthSession } from './auth-session.entity';

/** The only place that reads or writes the `auth_sessions` table. */
@Injectable()
export class AuthSessionsRepository {
  constructor(
    @InjectRepository(AuthSession) private readonly sessions: Repository<AuthSession>,
    private readonly writer: DatabaseWriter,
  ) {}

  create(userId: string, refreshTokenHash: string, expiresAt: Date): Promise<AuthSession> {
    const session = this.sessions.create({ userId, refreshTokenHash, expiresAt, revokedAt: null });
    return this.writer.run(() => this.sessions.save(session, { transaction: false }));
  }

  findById(id: string): Promise<AuthSession | null> {
    return this.sessions.findOneBy({ id });
  }

  /**
   * Swaps the stored hash, but only if it is still `expectedHash` and the session is live: of two
   * refreshes racing with one token, exactly one wins.
   */
  async rotate(
    id: string,
    expectedHash: string,
    newHash: string,
    expiresAt: Date,
  ): Promise<boolean> {
    const result = await this.writer.run(() =>
      this.sessions.update(
        { id, refreshTokenHash: expectedHash, revokedAt: IsNull() },
        { refreshTokenHash: newHash, expiresAt },
      ),
    );
    return result.affected === 1;
  }

  async revoke(id: string): Promise<void> {
    await this.writer.run(() =>
      this.sessions.update({ id, revokedAt: IsNull() }, { revokedAt: new Date() }),
    );
  }
}
