import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { DatabaseWriter } from '@app/database/database-writer';
import { isUniqueViolation } from '@app/database/unique-violation';
import { User } from './user.entity';

export type NewUser = Pick<User, 'username' | 'usernameKey' | 'displayName' | 'passwordHash'>;

@Injectable()
export class UsersRepository {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly writer: DatabaseWriter,
  ) {}

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  findByIds(ids: string[]): Promise<User[]> {
    return this.users.findBy({ id: In(ids) });
  }

  findByUsernameKey(usernameKey: string): Promise<User | null> {
    return this.users.findOneBy({ usernameKey });
  }

  /** Inserts the user, or returns null when the name is already taken (also under a race). */
  async insertUnlessTaken(user: NewUser): Promise<User | null> {
    try {
      const entity = this.users.create(user);
      return await this.writer.run(() => this.users.save(entity, { transaction: false }));
    } catch (error) {
      if (isUniqueViolation(error)) {
        return null;
      }
      throw error;
    }
  }
}
