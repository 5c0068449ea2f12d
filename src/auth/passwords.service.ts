import { Injectable } from '@nestjs/common';
import { hash, verify } from '@node-rs/argon2';

/** Argon2id password hashing. */
@Injectable()
export class PasswordsService {
  /** Verified against when a username is unknown, so that the answer takes as long as for a real one. */
  private readonly unknownUserHash = hash('switchboard: no such user');

  hash(password: string): Promise<string> {
    return hash(password);
  }

  async verify(passwordHash: string | undefined, password: string): Promise<boolean> {
    if (passwordHash === undefined) {
      await verify(await this.unknownUserHash, password);
      return false;
    }
    return verify(passwordHash, password);
  }
}
